"""disclosure service (行政执法公示): publish decisions on time, redacted, with history (DISC-1…DISC-9).

This module holds the nameko entrypoints only: each translates its call and delegates to a use case
in ``usecases/`` (validate → decide with the pure rules of ``domain/`` → persist → emit). The database
side: lifecycle.py (publications), register.py (before-information, certificates), reports.py (annual
statistics), inspections.py (random-inspection draws), portal.py + search.py (the public portal's
reads), jobs.py (the timers' passes) and store.py (the other queries).

Every staff RPC takes the caller's scope (region and bodies, ``services/common/scope.py``: no body
list → no body) and the use case checks it, not only the gateway (SEC-2, PLAT-1), for reads and writes.
Public RPCs return public data only. The day is the suite's clock's (``today_cn``), never a caller's.
"""
from __future__ import annotations

import datetime as dt
import logging

from nameko.rpc import rpc
from nameko.timer import timer

from services.common import federation, fieldcrypt, settings
from services.common.batching import batched_event_handler
from services.common.configfile import ConfigFiles
from services.common.db import Database
from services.common.entrypoints import event_handler
from services.common.events import DEPARTMENTS
from services.common.identifiers import is_region_code
from services.common.metrics import Metrics
from services.disclosure import configuration
from services.disclosure.lifecycle import china_now
from services.disclosure.usecases import decisions, draws, periodic, public, receipts, registry, staff, typical
from services.disclosure.usecases.shared import day
from services.disclosure.models import ENCRYPTED_COLUMNS

log = logging.getLogger(__name__)
DEADLINE_JOB_SECONDS = settings.get("ZHIFA_DISCLOSURE_DEADLINE_INTERVAL")
ANNUAL_JOB_SECONDS = settings.get("ZHIFA_DISCLOSURE_ANNUAL_INTERVAL")


def today_cn() -> dt.date:
    """Today in China from the suite's clock (services/common/clock.py)."""
    return china_now().date()


# decision traffic: fewer, larger batches under load (issue 17); publication deadlines are working days
DECISIONS = {"group": "decisions", "interval_ms": 200}


class DisclosureService:
    name = "disclosure"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    db = Database(case_ownership=True)   # SEC-2: only a case's owner may act on it
    metrics = Metrics()

    # -- after: decisions (DISC-3 … DISC-6) -------------------------------------------------------------
    def _preload_decisions(self, session, events):
        return decisions.preload(self.db, session, events)

    @batched_event_handler(DEPARTMENTS, "decision.made", **DECISIONS, preload=_preload_decisions)
    def on_decision_made(self, event):
        """DISC-3: deadline in working days; DISC-4: publish only the redacted entry (fail closed)."""
        decisions.decision_made(self.db, event)

    @batched_event_handler(DEPARTMENTS, "decision.revoked", **DECISIONS)
    def on_decision_revoked(self, event):
        """DISC-6: revoked / confirmed illegal / re-made → taken down (published) or never published (pending).
        The decision in force when the revocation was decided is the one taken down; a revocation that
        arrives before its decision is kept and applied when the decision arrives (issue 14)."""
        decisions.decision_revoked(self.db, event)

    @batched_event_handler(DEPARTMENTS, "case.transferred", **DECISIONS)
    def on_case_transferred(self, event):
        """SEC-2: from the transfer on, the case's decisions and revocations come from its new body."""
        decisions.case_transferred(self.db, event)

    # -- before: departmental registry (DISC-1, DISC-2, PLAT-4) ----------------------------------------------
    @event_handler(DEPARTMENTS, "body.registered")
    def on_body_registered(self, event):
        registry.body_registered(self.db, event)

    @event_handler(DEPARTMENTS, "officer.registered")
    def on_officer_registered(self, event):
        registry.officer_registered(self.db, event)

    @event_handler(DEPARTMENTS, "certificate.status_changed")
    def on_certificate_status_changed(self, event):
        registry.certificate_status_changed(self.db, event)

    @event_handler(DEPARTMENTS, "power.published")
    def on_power_published(self, event):
        registry.power_published(self.db, event)

    # -- annual reports: receipt and acknowledgement (DISC-7) ----------------------------------------------
    @event_handler("disclosure", "disclosure.annual_report_published")
    @event_handler(federation.UPWARD_EXCHANGE, "disclosure.annual_report_published")
    def on_annual_report_sent(self, event):
        """A report revision arrives at the register of its government / superior held by this suite."""
        receipts.report_sent(self.db, event)

    @event_handler("disclosure", "disclosure.annual_report_acknowledged")
    @event_handler(federation.DOWNWARD_EXCHANGE, "disclosure.annual_report_acknowledged")
    def on_annual_report_acknowledged(self, event):
        """A recipient acknowledged a report revision (here, or at the province over the downward link)."""
        receipts.report_acknowledged(self.db, event)

    @rpc
    def annual_report_receipts(self, scope, year=None):
        """The register of annual reports received by the government / superior the caller acts for."""
        return receipts.register(self.db, scope, year)

    @rpc
    def acknowledge_annual_report(self, receipt_id, actor, scope):
        """签收: the recipient acknowledges a report revision (once; sent back to the body's suite)."""
        return receipts.acknowledge(self.db, receipt_id, actor, scope, today_cn())

    # -- typical cases (CMP-7) ------------------------------------------------------------------------------
    @event_handler("evaluation", "evaluation.typical_case_approved")
    def on_typical_case_approved(self, event):
        """An approved typical case is published on the portal, redacted (DISC-4; withheld if it cannot be)."""
        typical.approved(self.db, event)

    @rpc
    def typical_cases(self, region_code=None, limit=50):
        return typical.listing(self.db, region_code if region_code and is_region_code(region_code) else None, limit)

    @rpc
    def typical_case(self, typical_case_id):
        return typical.one(self.db, typical_case_id)

    # -- periodic jobs (leased: one replica runs each) ------------------------------------------------------
    @timer(interval=DEADLINE_JOB_SECONDS)
    def deadline_job(self):
        """DISC-3 due/overdue tracking and PLAT-4 stale powers."""
        if not self.db.acquire_lease("disclosure.deadlines", DEADLINE_JOB_SECONDS * 2):
            return
        self.run_deadline_check()

    @timer(interval=5)
    def reencrypt_fields(self):
        """Decision sources at rest (issue 22): moved to the active data key after a rotation (leased)."""
        fieldcrypt.background_pass(self.db, "disclosure", ENCRYPTED_COLUMNS)

    @timer(interval=ANNUAL_JOB_SECONDS)
    def annual_report_job(self):
        """DISC-7: in January each body's report on the previous year is generated, published and sent."""
        if not self.db.acquire_lease("disclosure.annual_reports", ANNUAL_JOB_SECONDS * 2):
            return
        self.run_annual_reports()

    @rpc
    def run_deadline_check(self):
        """One pass of the deadline job (also for operators); the day is the suite's clock's."""
        return periodic.deadline_check(self.db, today_cn())

    @rpc
    def run_annual_reports(self):
        """One pass of the annual-report job (also for operators); the day is the suite's clock's."""
        return periodic.annual_reports(self.db, today_cn())

    # -- public portal (DISC-9) ------------------------------------------------------------------------------
    @rpc
    def search(self, q=None, region_code=None, body_id=None, action_type=None, page=1, date_from=None, date_to=None,
               page_size=None, sort=None):
        """Online query of published decisions (public): Chinese full text plus filters, newest first (or by
        fine amount: sort="amount"), with the count of matches (issue 19)."""
        return public.search_publications(self.db, {
            "q": q, "region_code": region_code, "body_id": body_id, "action_type": action_type, "page": page,
            "date_from": date_from, "date_to": date_to, "page_size": page_size, "sort": sort})

    @rpc
    def similar_decisions(self, matter_code, facts=None, fine_amount=None, exclude_case_id=None, limit=5):
        """REV-8 (issue 18): similar published decisions of a matter and the distribution of their fines, for
        legal review's assistance (public data; the gateway asks after review checked the task's scope)."""
        try:
            return public.similar_decisions(self.db, matter_code, facts, fine_amount, exclude_case_id, limit)
        except ValueError as exc:
            return {"error": "invalid", "status": 422, "message": str(exc)}

    @rpc
    def get_publication(self, publication_id):
        """One publication with its public history (published, corrected or withdrawn)."""
        return public.publication(self.db, publication_id)

    @rpc
    def bodies(self, region_code=None):
        return public.bodies(self.db, region_code if region_code and is_region_code(region_code) else None)

    @rpc
    def body_page(self, body_id, as_of=None):
        """DISC-1: a body's before-information (as of a day), its annual reports, draws and results."""
        return public.body_page(self.db, body_id, day(as_of) or today_cn())

    @rpc
    def verify_certificate(self, certificate_no, today=None):
        """DISC-2: certificate number → holder, body, valid or not, since when (public)."""
        return public.verify_certificate(self.db, certificate_no, day(today) or today_cn())

    @rpc
    def annual_report(self, body_id, year):
        return public.annual_report(self.db, body_id, year, today_cn())

    @rpc
    def draw(self, draw_id, public_value=None):
        """DISC-8: a draw with everything needed to verify it; ``public_value`` checks a value someone typed."""
        return public.draw(self.db, draw_id, public_value)

    @rpc
    def inspection_month(self, body_id, year, month):
        return public.inspection_month(self.db, body_id, year, month)

    # -- staff (DISC-3 … DISC-8) -----------------------------------------------------------------------------
    @rpc
    def list_pending(self, scope):
        """Unpublished decisions (due / overdue with yellow/red warning) and late publications in scope."""
        return staff.list_pending(self.db, scope, today_cn())

    @rpc
    def correct_publication(self, publication_id, changes, reason, actor, scope):
        """DISC-5: the body corrects an entry (re-redacted; a held entry is published by its correction)."""
        return staff.correct_publication(self.db, publication_id, changes, reason, actor, scope)

    @rpc
    def withdraw_publication(self, publication_id, reason, detail, actor, scope):
        """DISC-6 by staff (when no departmental event will come): take down / never publish."""
        return staff.withdraw_publication(self.db, publication_id, reason, detail, actor, scope)

    @rpc
    def put_before_item(self, kind, body_id, item_id, content, effective_on, reason, actor, scope, retire=False):
        """DISC-1: service guides, remedy channels and random-inspection matters (versioned)."""
        return staff.put_before_item(self.db, kind, body_id, item_id, content, effective_on, reason, actor, scope,
                                     retire, today_cn())

    @rpc
    def record_basis_change(self, law_name, changed_on, region_code, note, actor, scope):
        """PLAT-4: a legal basis changed; power-list entries citing it must be republished within a month."""
        return staff.record_basis_change(self.db, law_name, changed_on, region_code, note, actor, scope)

    @rpc
    def stale_powers(self, scope, today=None):
        """Flagged power-list entries of the bodies in the caller's scope (read-only; ``today``: as of)."""
        return staff.stale_powers(self.db, scope, day(today) or today_cn())

    @rpc
    def generate_annual_report(self, body_id, year, actor, scope):
        """DISC-7 on demand (e.g. after late corrections): build, publish, send."""
        return staff.generate_annual_report(self.db, body_id, year, actor, scope, today_cn())

    @rpc
    def announce_draw(self, body_id, data, actor, scope):
        """DISC-8: publish the draw's committed inputs and the future public value that will seed it."""
        return draws.announce(self.db, body_id, data, actor, scope)

    @rpc
    def perform_draw(self, draw_id, public_value, actor, scope):
        return draws.perform(self.db, draw_id, public_value, scope, today_cn())

    @rpc
    def record_inspection_results(self, draw_id, results, actor, scope):
        return draws.record_results(self.db, draw_id, results, scope)

    @rpc
    def publish_inspection_month(self, body_id, year, month, actor, scope):
        return draws.publish_month(self.db, body_id, year, month, scope, today_cn())


__all__ = ["DisclosureService"]
