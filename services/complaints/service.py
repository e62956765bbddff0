"""complaints service (投诉举报): intake from every channel, the numbered register, acceptance,
routing, transfer, escalation, feedback, confidentiality and back-tracking (CMP-1…CMP-9, COORD-1, EVAL-7);
across tiers (PLAT-1, COORD-4), the province's supervision register of escalated city complaints and the
transfer orders it sends down (上级交办), applied by the city.

This module holds the nameko entrypoints only: each translates its call and delegates to a use case
in ``usecases/`` (validate → decide with the pure rules of ``domain/`` → persist with the queries of
``store.py`` → emit). Every state change runs in one transaction with the events it emits (outbox).
No event carries the complainant's identity; the body complained about sees only ``body_view``.

RPC methods answer plain dicts; a refusal is ``{"error": {"status", "code", "message", "fields"}}``
(the gateway turns it into the HTTP error), so expected refusals never travel as remote exceptions.
"""
from __future__ import annotations

import functools

from nameko.rpc import rpc
from nameko.timer import Timer

from services.common import federation, fieldcrypt, settings
from services.common.configfile import ConfigFiles
from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.metrics import Metrics
from services.complaints import configuration
from services.complaints.domain import ReasonRequired, RoutingError, TransitionError
from services.complaints.models import ENCRYPTED_COLUMNS
from services.complaints.usecases import coordination, deadlines, handling, public, reading, registration, supervision
from services.complaints.usecases.shared import Refused


class ConfiguredTimer(Timer):
    """A timer whose interval is read from a setting when the container starts (tests shorten it)."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=0, **kwargs)      # the setting is read in setup

    def setup(self):
        self.interval = settings.get(self.setting)
        super().setup()


timer = ConfiguredTimer.decorator


def refusing(fn):
    """Turn :class:`Refused` and domain refusals into the ``{"error": …}`` answer."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Refused as exc:
            return exc.answer()
        except ReasonRequired as exc:
            return Refused(422, "reason_required", str(exc), {"reason": [str(exc)]}).answer()
        except TransitionError as exc:
            return Refused(409, "invalid_transition", exc.message).answer()
        except RoutingError as exc:
            return Refused(422, "routing", exc.message).answer()

    return wrapper


class ComplaintsService:
    name = "complaints"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database()
    metrics = Metrics()

    # --- intake 编号登记 (CMP-1, CMP-2) ---------------------------------------------------------------
    @event_handler(DEPARTMENTS, "complaint.submitted")
    def on_complaint_submitted(self, event):
        """CMP-1, CMP-2: complaints from the 12345 hotline and other channel systems are registered."""
        registration.register_submitted(self.db, event)

    @rpc
    @refusing
    def submit_portal_complaint(self, form):
        """CMP-1 portal intake: registers at once and answers (after commit) with number and query code."""
        return registration.register_from_portal(self.db, form)

    @rpc
    @refusing
    def register_by_staff(self, scope, actor, form):
        """CMP-1: a letter, e-mail, visit or call registered by a complaint handler of the region."""
        return registration.register_by_staff(self.db, scope, actor, form)

    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        """The body directory used to complete subjects and route complaints (CMP-8)."""
        registration.record_body(self.db, event)

    # --- public: status, rating, channels (CMP-1, CMP-4, EVAL-7) -------------------------------------
    @rpc
    def public_status(self, number, code):
        """CMP-4: status by number + query code, no login; nothing but the status."""
        return public.public_status(self.db, number, code)

    @rpc
    @refusing
    def rate(self, number, code, rating, comment=None):
        """满意度评价 by the complainant at closure (EVAL-7); needs number + query code."""
        return public.rate(self.db, number, code, rating, comment)

    @rpc
    def channels(self, region_code):
        """CMP-1: the published channels for a region (fields missing there come from parent regions)."""
        return public.channels(region_code)

    @rpc
    def intake_options(self):
        """What the portal form offers: regions that publish channels, and the registered bodies."""
        return public.intake_options(self.db)

    # --- handling 办理 (CMP-3, CMP-4, CMP-5, CMP-9, COORD-1) ----------------------------------------
    @rpc
    @refusing
    def accept(self, scope, number, actor, note=None):
        """受理 (CMP-3/4): records the route (CMP-8) and starts the 30-working-day handling period (CMP-9)."""
        return handling.accept(self.db, scope, number, actor, note)

    @rpc
    @refusing
    def not_accept(self, scope, number, actor, reason, note=None):
        """不予受理 (CMP-4): the reason is required, told to the complainant and kept in the register."""
        return handling.not_accept(self.db, scope, number, actor, reason, note)

    @rpc
    @refusing
    def add_progress(self, scope, number, actor, text, note=None):
        """办理进展, shown to the complainant by the status query (CMP-4)."""
        return handling.add_progress(self.db, scope, number, actor, text, note)

    @rpc
    @refusing
    def conclude(self, scope, number, actor, result, upheld, note=None):
        """办结 with the result for the complainant; upheld → accountability clue (CMP-4, CMP-5)."""
        return handling.conclude(self.db, scope, number, actor, result, upheld, note)

    @rpc
    @refusing
    def transfer(self, scope, number, actor, to_unit_id, to_region_code, reason, to_name=None):
        """移送/转办 to another unit, region or tier: number and history kept (COORD-1)."""
        return handling.transfer(self.db, scope, number, actor, to_unit_id, to_region_code, reason, to_name)

    @rpc
    @refusing
    def extend(self, scope, number, actor, working_days, approved_by, reason):
        """延长办理期限 once, ≤ 20 working days, approved by a responsible person (CMP-9)."""
        return handling.extend(self.db, scope, number, actor, working_days, approved_by, reason)

    @rpc
    @refusing
    def record_scope_finding(self, scope, number, actor, in_scope, note=None):
        """A supervisor's finding that a not-accepted complaint was (not) in scope → clue (CMP-5)."""
        return handling.record_scope_finding(self.db, scope, number, actor, in_scope, note)

    # --- reading, in the caller's scope (SEC-2, PLAT-1) ------------------------------------------------
    @rpc
    @refusing
    def get_complaint(self, scope, number):
        """The handler view (identity included) for a handler or supervisor of the region."""
        return handling.get_complaint(self.db, scope, number)

    @rpc
    def list_register(self, scope, filters=None):
        """The register in the caller's scope (filed or handled in their region)."""
        return reading.list_register(self.db, scope, filters)

    @rpc
    def body_complaints(self, scope):
        """What a body complained about may read (body_view): no complainant identity anywhere."""
        return reading.body_complaints(self.db, scope)

    @rpc
    def private_enterprise_report(self, scope, year=None):
        """CMP-6: complaints about enforcement against private enterprises, reported separately."""
        return reading.private_enterprise_report(self.db, scope, year)

    # --- deadlines: escalation and overdue clues (CMP-3, CMP-5, CMP-9) — one replica at a time -------
    @timer("ZHIFA_COMPLAINTS_SWEEP_SECONDS")
    def deadline_sweep(self):
        interval = settings.get("ZHIFA_COMPLAINTS_SWEEP_SECONDS")
        deadlines.sweep_if_leased(self.db, max(3 * interval, 10.0))

    # --- personal fields at rest (issue 22): moved to the active data key after a rotation --------------
    @timer("ZHIFA_FIELDCRYPT_REENCRYPT_INTERVAL")
    def reencrypt_fields(self):
        fieldcrypt.background_pass(self.db, "complaints", ENCRYPTED_COLUMNS, paced=False)

    @rpc
    def run_deadline_sweep(self):
        """Operations: run the sweep now (e.g. after loading a calendar); the lease keeps one runner.
        The day is the suite's clock's, never a caller's (SEC-2)."""
        escalated = deadlines.sweep_if_leased(self.db, 60.0)
        return {"ran": False} if escalated is None else {"ran": True, "escalated": escalated}

    # --- across tiers (PLAT-1, COORD-4): the province's supervision register and 上级交办 -------------
    @event_handler(federation.UPWARD_EXCHANGE, "complaint.escalated")
    def on_city_escalation(self, event):
        """省级督办台账: a city complaint escalated (逐级上报, CMP-3/CMP-9) enters or updates the register."""
        supervision.receive_escalation(self.db, event)

    @event_handler(federation.UPWARD_EXCHANGE, "complaint.concluded")
    def on_city_conclusion(self, event):
        """A city concluded a complaint (办结): its register line, if any, is closed."""
        supervision.receive_conclusion(self.db, event)

    @rpc
    def list_escalations(self, scope, filters=None):
        """The supervision register in the caller's scope (SEC-2, PLAT-1), most recently escalated first."""
        return supervision.list_escalations(self.db, scope, filters)

    @rpc
    @refusing
    def order_transfer(self, scope, number, actor, form):
        """上级交办 (COORD-4, CMP-9): a province supervisor orders an escalated complaint handled by a
        unit of its city; sent down to that city only."""
        return supervision.order_transfer(self.db, scope, number, actor, form)

    @event_handler(federation.DOWNWARD_EXCHANGE, "complaint.transfer_ordered")
    def on_transfer_ordered(self, event):
        """上级交办 received from the tier above, applied to the complaint with that number; an order this
        suite cannot apply is dead-lettered with the reason."""
        supervision.apply_transfer_order(self.db, event)

    # --- coordination across bodies, regions and tiers (COORD-1, COORD-2, COORD-3) --------------------
    @rpc
    @refusing
    def send_clue(self, scope, actor, form):
        """违法线索移送 to another body, department, region or tier (COORD-1)."""
        return coordination.send_clue(self.db, scope, actor, form)

    @rpc
    def list_clues(self, scope, filters=None):
        """Clues sent or received by the caller's bodies, with status and deadlines (COORD-1)."""
        return coordination.list_clues(self.db, scope, filters)

    @rpc
    @refusing
    def get_clue(self, scope, clue_id):
        return coordination.get_clue(self.db, scope, clue_id)

    @rpc
    @refusing
    def answer_clue(self, scope, clue_id, actor, form):
        """The recipient acknowledges, answers or declines jurisdiction (→ a dispute, COORD-2)."""
        return coordination.answer_clue(self.db, scope, clue_id, actor, form)

    @event_handler(federation.UPWARD_EXCHANGE, "clue.sent")
    @event_handler(federation.DOWNWARD_EXCHANGE, "clue.sent")
    def on_clue_from_link(self, event):
        """A clue sent from the other tier, kept when addressed to a body this suite serves (COORD-1)."""
        coordination.receive_clue(self.db, event)

    @event_handler(federation.UPWARD_EXCHANGE, "clue.answered")
    @event_handler(federation.DOWNWARD_EXCHANGE, "clue.answered")
    def on_clue_answer_from_link(self, event):
        """The other tier's answer to a clue sent from here: newest version wins (COORD-1)."""
        coordination.receive_answer(self.db, event)

    @rpc
    @refusing
    def record_inspection(self, scope, actor, form):
        """检查结果互认 with the 多头检查、重复检查 flags (COORD-1)."""
        return coordination.record_inspection(self.db, scope, actor, form)

    @rpc
    @refusing
    def party_inspections(self, scope, party_id):
        return coordination.party_inspections(self.db, scope, party_id)

    @rpc
    @refusing
    def raise_dispute(self, scope, actor, form):
        """管辖争议提请协调 at the common superior's legal office (COORD-2)."""
        return coordination.raise_dispute(self.db, scope, actor, form)

    @rpc
    def list_disputes(self, scope, filters=None):
        return coordination.list_disputes(self.db, scope, filters)

    @rpc
    @refusing
    def get_dispute(self, scope, dispute_id):
        return coordination.get_dispute(self.db, scope, dispute_id)

    @rpc
    @refusing
    def add_dispute_statement(self, scope, dispute_id, actor, form):
        return coordination.add_statement(self.db, scope, dispute_id, actor, form)

    @rpc
    @refusing
    def decide_dispute(self, scope, dispute_id, actor, form):
        """协调决定; the complaint or clue is routed by it (COORD-2)."""
        return coordination.decide_dispute(self.db, scope, dispute_id, actor, form)

    @rpc
    @refusing
    def open_transfer(self, scope, actor, form):
        """移送涉嫌犯罪案件 / 移送纪检监察 with documents by SM3 digest (COORD-3)."""
        return coordination.open_transfer(self.db, scope, actor, form)

    @rpc
    @refusing
    def act_on_transfer(self, scope, transfer_id, actor, form):
        """send / 受理回执 / outcome of a transfer (COORD-3)."""
        return coordination.act_on_transfer(self.db, scope, transfer_id, actor, form)

    @rpc
    def list_transfers(self, scope, filters=None):
        return coordination.list_transfers(self.db, scope, filters)

    @event_handler("evaluation", "evaluation.accountability_decided")
    def on_accountability_decided(self, event):
        """责任追究决定 with 移送纪检监察: a pending transfer to discipline inspection (COORD-3)."""
        coordination.transfer_from_accountability(self.db, event)
