"""Legal-review checklist (法制审核内容) and automatic pre-checks — REQUIREMENTS REV-3, PLAT-3, PLAT-4, COORD-3.

The eight checks of 国办发〔2018〕118号 §四(十三), in this order:

====================  ==========================================  ====================================
code                  title                                       automatic pre-check
====================  ==========================================  ====================================
body_lawful           执法主体合法                                registry status of the body, if known
officers_qualified    执法人员具备执法资格                        certificates valid at the time (PLAT-3)
procedure_lawful      执法程序合法                                hearing held when requested/required
facts_evidence        事实清楚、证据合法充分                      — (reviewer)
law_discretion        适用法律正确、裁量基准适当                  discretion benchmark hint (REV-8)
within_authority      未超越法定权限                              matter in the body's powers list (PLAT-4)
documents_complete    文书完备规范                                open record gaps from records service
crime_transfer        涉嫌犯罪移送                                amount vs. per-field transfer threshold
====================  ==========================================  ====================================

Outcomes: ``pass`` (the machine check settles it), ``fail`` (a defect found — the reviewer should
return the proposal), ``needs_reviewer`` (the reviewer must judge; an automatic check that could only
verify part of the item says what it verified). Pure functions; ``checklist.yaml`` is read by
services/review/configuration.py and checked with :class:`ChecklistFile`.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from marshmallow import Schema, fields, post_load, validate

from services.common.configfile import ConfigFileError, Keyed, check_data

from .catalogue import Yuan
from .model import ACTION_TYPE_NAMES_ZH, Proposal, format_yuan

__all__ = [
    "ChecklistFile", "CHECKS", "Outcome", "CheckResult", "CertificateEvent", "PowerEntry",
    "TransferThreshold", "ChecklistConfig", "ChecklistConfigError",
    "parse_checklist_config", "certificate_status_at", "check_body_lawful", "check_officers_qualified",
    "check_procedure", "check_within_authority", "check_documents_complete", "check_crime_transfer",
    "check_law_discretion", "manual_check", "run_prechecks", "transfer_suggested", "check_officers_at_actions",
]


#: The eight review checks (code → Chinese title), in the order of 003 §四(十三).
CHECKS: dict[str, str] = {
    "body_lawful": "执法主体合法",
    "officers_qualified": "执法人员具备执法资格",
    "procedure_lawful": "执法程序合法",
    "facts_evidence": "事实清楚、证据合法充分",
    "law_discretion": "适用法律正确、裁量基准适当",
    "within_authority": "未超越法定权限",
    "documents_complete": "文书完备规范",
    "crime_transfer": "涉嫌犯罪移送",
}

CERTIFICATE_STATUS_ZH = {"valid": "有效", "suspended": "暂扣", "withdrawn": "收回", "cancelled": "注销",
                         "expired": "已超过有效期", None: "尚未取得"}


class Outcome(str, enum.Enum):
    PASS = "pass"                      # 通过
    FAIL = "fail"                      # 不通过
    NEEDS_REVIEWER = "needs_reviewer"  # 待审核人员判断


@dataclass(frozen=True)
class CheckResult:
    """One checklist item: code, Chinese title, outcome, Chinese finding, and whether a machine check ran."""

    code: str
    title: str
    outcome: Outcome
    finding: str
    automatic: bool


@dataclass(frozen=True)
class CertificateEvent:
    """执法证件 status change (PLAT-3): from ``effective_from`` on, ``certificate_no`` has ``status``."""

    certificate_no: str
    officer_id: str
    status: str  # valid | suspended | withdrawn | cancelled
    effective_from: dt.datetime
    valid_until: dt.date | None = None

    def __post_init__(self):
        if self.status not in ("valid", "suspended", "withdrawn", "cancelled"):
            raise ValueError(f"certificate {self.certificate_no}: unknown status {self.status!r}")


@dataclass(frozen=True)
class PowerEntry:
    """权责清单 entry (PLAT-4): ``body_id`` may exercise ``action_type`` on ``matter_code`` in the period."""

    body_id: str
    matter_code: str
    action_type: str
    valid_from: dt.date
    valid_until: dt.date | None = None  # inclusive; None = open-ended

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class TransferThreshold:
    """行刑衔接 reference threshold for a field: compare the proposal's ``basis`` amount (COORD-3)."""

    basis: str  # fine | confiscation | total
    threshold: Decimal
    note: str = ""


@dataclass(frozen=True)
class ChecklistConfig:
    min_certified_officers: int = 2
    default_transfer: TransferThreshold | None = None
    transfer_by_field: Mapping[str, TransferThreshold | None] = field(default_factory=dict)

    def transfer_threshold(self, field_name: str | None) -> TransferThreshold | None:
        """The field's threshold; a field configured as ``null`` has no amount-based reference (→ None)."""
        if field_name and field_name in self.transfer_by_field:
            return self.transfer_by_field[field_name]
        return self.default_transfer


ChecklistConfigError = ConfigFileError   # ``config/review/checklist.yaml`` is invalid


class _Threshold(Schema):
    basis = fields.String(load_default="confiscation", validate=validate.OneOf(["fine", "confiscation", "total"]))
    threshold = Yuan(required=True)
    note = fields.String(load_default="", allow_none=True)

    @post_load
    def build(self, data, **kwargs) -> TransferThreshold:
        return TransferThreshold(data["basis"], data["threshold"], data["note"] or "")


class _CriminalTransfer(Schema):
    default = fields.Nested(_Threshold, allow_none=True, load_default=None)
    fields_ = Keyed(fields.Nested(_Threshold, allow_none=True), data_key="fields", load_default=dict)


class ChecklistFile(Schema):
    """``config/review/checklist.yaml`` → :class:`ChecklistConfig` (a field set to ``null`` has no threshold)."""

    min_certified_officers = fields.Integer(strict=True, load_default=2, validate=validate.Range(min=1))
    criminal_transfer = fields.Nested(_CriminalTransfer, load_default=lambda: {"default": None, "fields_": {}})

    @post_load
    def build(self, data, **kwargs) -> ChecklistConfig:
        ct = data["criminal_transfer"]
        return ChecklistConfig(data["min_certified_officers"], ct["default"], dict(ct["fields_"]))


def parse_checklist_config(data: Any, source: str = "<dict>") -> ChecklistConfig:
    return check_data(data, ChecklistFile, source)


# --- helpers -----------------------------------------------------------------------------------

def _fmt_time(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def _as_event(e) -> CertificateEvent:
    if isinstance(e, CertificateEvent):
        return e
    if isinstance(e, Mapping):
        return CertificateEvent(**e)
    return CertificateEvent(*e)


def _result(code: str, outcome: Outcome, finding: str, automatic: bool = True) -> CheckResult:
    return CheckResult(code, CHECKS[code], outcome, finding, automatic)


def manual_check(code: str, finding: str = "待法制审核人员审查") -> CheckResult:
    """A checklist item no machine check covers: starts as ``needs_reviewer``."""
    return _result(code, Outcome.NEEDS_REVIEWER, finding, automatic=False)


# --- (a) officers' certificates (PLAT-3) -------------------------------------------------------

def certificate_status_at(officer_id: str, history: Iterable, at: dt.datetime) -> tuple[str | None, str | None]:
    """(status, certificate_no) of ``officer_id`` at instant ``at``.

    For each of the officer's certificates the latest event with ``effective_from <= at`` gives its
    status; a ``valid`` status past its ``valid_until`` date counts as ``expired``. If any certificate
    is valid the officer is qualified (``("valid", no)``); otherwise the most recent non-valid status is
    returned; ``(None, None)`` when the officer had no certificate at that time.
    """
    latest: dict[str, CertificateEvent] = {}
    for raw in history:
        e = _as_event(raw)
        if e.officer_id != officer_id:
            continue
        if (e.effective_from.tzinfo is None) != (at.tzinfo is None):
            raise ValueError("certificate effective_from and the action time must both be timezone-aware "
                             "(or both naive)")
        if e.effective_from <= at:
            current = latest.get(e.certificate_no)
            if current is None or e.effective_from >= current.effective_from:
                latest[e.certificate_no] = e
    best: tuple[str | None, str | None, dt.datetime | None] = (None, None, None)
    for no, e in sorted(latest.items()):
        status = e.status
        if status == "valid" and e.valid_until is not None and at.date() > e.valid_until:
            status = "expired"
        if status == "valid":
            return "valid", no
        if best[2] is None or e.effective_from > best[2]:
            best = (status, no, e.effective_from)
    return best[0], best[1]


def check_officers_qualified(officer_ids: Sequence[str], history: Iterable, at: dt.datetime | Sequence[dt.datetime],
                             min_certified: int = 2) -> CheckResult:
    """执法人员具备执法资格 (REV-3, PLAT-3).

    Fails when any officer on the case lacked a valid certificate at (any of) the action time(s), or
    when fewer than ``min_certified`` officers held one — no valid certificate, no enforcing alone.
    """
    times = [at] if isinstance(at, dt.datetime) else list(at)
    if not times:
        raise ValueError("at least one action time is required")
    history = [_as_event(e) for e in history]
    officers = list(dict.fromkeys(officer_ids))
    problems, certified = [], []
    for officer in officers:
        ok = True
        for t in times:
            status, no = certificate_status_at(officer, history, t)
            if status != "valid":
                ok = False
                cert = f"执法证件（证号{no}）处于{CERTIFICATE_STATUS_ZH[status]}状态" if no else "未持有执法证件"
                problems.append(f"执法人员{officer}在{_fmt_time(t)}{cert}，不得从事执法活动")
                break
        if ok:
            certified.append(officer)
    if len(certified) < min_certified:
        problems.append(f"持有有效执法证件的执法人员为{len(certified)}名，少于{min_certified}名，"
                        f"无有效证件人员不得单独执法")
    if problems:
        return _result("officers_qualified", Outcome.FAIL, "；".join(problems))
    when = "、".join(_fmt_time(t) for t in times)
    return _result("officers_qualified", Outcome.PASS,
                   f"执法人员{'、'.join(certified)}在执法时（{when}）均持有有效执法证件")


def check_officers_at_actions(actions: Iterable[tuple[dt.datetime, Sequence[str]]], history: Iterable,
                              decision_officers: Sequence[str], decided_at: dt.datetime,
                              min_certified: int = 2) -> CheckResult:
    """执法人员具备执法资格 over the whole case (REV-3, PLAT-3).

    Every officer recorded on an action (立案、调查取证 …: ``(time, officer_ids)``) must have held a valid
    certificate at that action's time; the officers of the proposed decision at ``decided_at`` likewise, and
    at least ``min_certified`` of them must have held one (no valid certificate → no enforcing alone).
    """
    history = [_as_event(e) for e in history]
    problems: list[str] = []
    steps = sorted({(t, tuple(dict.fromkeys(o))) for t, o in actions if o}, key=lambda a: a[0])
    checked = 0
    for t, officers in steps:
        checked += 1
        for officer in officers:
            status, no = certificate_status_at(officer, history, t)
            if status != "valid":
                cert = f"执法证件（证号{no}）处于{CERTIFICATE_STATUS_ZH[status]}状态" if no else "未持有执法证件"
                problem = f"执法人员{officer}在{_fmt_time(t)}的执法活动中{cert}，不得从事执法活动"
                if problem not in problems:
                    problems.append(problem)
    final = check_officers_qualified(decision_officers, history, decided_at, min_certified)
    if final.outcome is Outcome.FAIL:
        problems.extend(p for p in final.finding.split("；") if p not in problems)
    if problems:
        return _result("officers_qualified", Outcome.FAIL, "；".join(problems))
    officers = "、".join(dict.fromkeys(decision_officers))
    where = f"{checked}次执法活动及拟作出决定时" if checked else f"拟作出决定时（{_fmt_time(decided_at)}）"
    return _result("officers_qualified", Outcome.PASS, f"执法人员{officers}等在{where}均持有有效执法证件")


# --- (b) powers list (PLAT-4) ------------------------------------------------------------------

def check_within_authority(body_id: str, matter_code: str, action_type: str, powers: Iterable[PowerEntry],
                           on: dt.date) -> CheckResult:
    """未超越法定权限 (REV-3): the body's powers list (权责清单) holds the matter for this action type on ``on``."""
    if isinstance(on, dt.datetime):
        on = on.date()
    own = [p for p in powers if p.body_id == body_id and p.matter_code == matter_code]
    kind = ACTION_TYPE_NAMES_ZH.get(action_type, action_type)
    if not own:
        return _result("within_authority", Outcome.FAIL,
                       f"本机关权责清单中无执法事项{matter_code}，可能超越法定权限")
    same_type = [p for p in own if p.action_type == action_type]
    if not same_type:
        listed = "、".join(sorted({ACTION_TYPE_NAMES_ZH.get(p.action_type, p.action_type) for p in own}))
        return _result("within_authority", Outcome.FAIL,
                       f"权责清单中执法事项{matter_code}的行为类别为{listed}，不含{kind}，可能超越法定权限")
    if any(p.in_force(on) for p in same_type):
        return _result("within_authority", Outcome.PASS,
                       f"执法事项{matter_code}（{kind}）在本机关权责清单内，{on.isoformat()}有效")
    return _result("within_authority", Outcome.FAIL,
                   f"执法事项{matter_code}（{kind}）在{on.isoformat()}不在本机关权责清单有效期内")


# --- (c) procedure: hearing --------------------------------------------------------------------

def check_procedure(hearing_requested: bool, hearing_held: bool, hearing_required: bool = False) -> CheckResult:
    """执法程序合法 (REV-3): a hearing requested by the party or required by law must have been held.

    The machine check only covers the hearing; the rest of the procedure stays with the reviewer.
    """
    if (hearing_requested or hearing_required) and not hearing_held:
        why = "当事人申请听证" if hearing_requested else "依法应当组织听证"
        return _result("procedure_lawful", Outcome.FAIL, f"{why}，但未举行听证")
    if hearing_held:
        heard = "已举行听证"
    else:
        heard = "当事人未申请听证，且无须依职权组织听证"
    return _result("procedure_lawful", Outcome.NEEDS_REVIEWER, f"听证程序已核验：{heard}；其他程序事项待审核人员审查")


# --- (d) record completeness -------------------------------------------------------------------

def check_documents_complete(record_gaps: Sequence[str], gap_names: Mapping[str, str] | None = None) -> CheckResult:
    """文书完备规范 (REV-3): open record-gap codes from the records service mean the file is incomplete."""
    gaps = list(dict.fromkeys(record_gaps))
    if gaps:
        names = "、".join((gap_names or {}).get(g, g) for g in gaps)
        return _result("documents_complete", Outcome.FAIL, f"执法记录不完整，缺少：{names}")
    return _result("documents_complete", Outcome.NEEDS_REVIEWER,
                   "全过程记录完整性核验无缺项；文书规范性待审核人员审查")


# --- (e) criminal transfer (COORD-3) -----------------------------------------------------------

def check_crime_transfer(proposal: Proposal, config: ChecklistConfig) -> CheckResult:
    """涉嫌犯罪移送 (REV-3, COORD-3): amounts at or above the field's threshold prompt a transfer examination.

    Never ``pass``: whether facts amount to a crime is the reviewer's judgement; the finding says whether
    the configured reference amount was reached (``移送提示``).
    """
    th = config.transfer_threshold(proposal.field)
    if th is None:
        return manual_check("crime_transfer", "未配置该领域的移送参考标准，待审核人员审查是否涉嫌犯罪")
    amount = proposal.amount(th.basis)
    label = {"fine": "罚款金额", "confiscation": "没收金额", "total": "罚没金额合计"}[th.basis]
    basis = f"（{th.note}）" if th.note else ""
    if amount is not None and amount >= th.threshold:
        return _result("crime_transfer", Outcome.NEEDS_REVIEWER,
                       f"移送提示：{label}{format_yuan(amount)}达到移送参考标准{format_yuan(th.threshold)}{basis}，"
                       f"请审查是否涉嫌犯罪、需移送司法机关")
    shown = f"{label}{format_yuan(amount)}" if amount is not None else f"本案无{label}"
    return _result("crime_transfer", Outcome.NEEDS_REVIEWER,
                   f"{shown}，未达到移送参考标准{format_yuan(th.threshold)}；其他涉嫌犯罪情形待审核人员审查")


def transfer_suggested(result: CheckResult) -> bool:
    """True when the crime-transfer pre-check raised a transfer prompt (移送提示)."""
    return result.code == "crime_transfer" and result.finding.startswith("移送提示")


# --- body and discretion ----------------------------------------------------------------------

def check_body_lawful(body_registered: bool | None, body_name: str | None = None) -> CheckResult:
    """执法主体合法 (REV-3): automatic only when the body registry status is known."""
    if body_registered is None:
        return manual_check("body_lawful")
    who = body_name or "执法主体"
    if not body_registered:
        return _result("body_lawful", Outcome.FAIL, f"{who}未在执法主体名录中登记，主体资格存疑")
    return _result("body_lawful", Outcome.NEEDS_REVIEWER, f"{who}已在执法主体名录中登记；主体资格待审核人员确认")


def check_law_discretion(benchmark: Any = None) -> CheckResult:
    """适用法律正确、裁量基准适当 (REV-3): the reviewer decides; a benchmark check (REV-8) adds a hint."""
    if benchmark is None:
        return manual_check("law_discretion")
    return _result("law_discretion", Outcome.NEEDS_REVIEWER, benchmark.message)


# --- all eight -------------------------------------------------------------------------------

def run_prechecks(proposal: Proposal, *, certificates: Iterable, powers: Iterable[PowerEntry],
                  record_gaps: Sequence[str] = (), config: ChecklistConfig | None = None,
                  action_times: Sequence[dt.datetime] | None = None, body_registered: bool | None = None,
                  hearing_required: bool = False, benchmark: Any = None,
                  gap_names: Mapping[str, str] | None = None) -> list[CheckResult]:
    """The eight checklist results for ``proposal`` in :data:`CHECKS` order (REV-3).

    ``action_times`` are the instants officers acted (e.g. evidence recorded); default: ``proposed_at``.
    ``benchmark`` is an :class:`~services.review.domain.assistance.BenchmarkAdvice` (optional).
    """
    config = config or ChecklistConfig()
    times = list(action_times) if action_times else [proposal.proposed_at]
    return [
        check_body_lawful(body_registered),
        check_officers_qualified(proposal.officer_ids, certificates, times, config.min_certified_officers),
        check_procedure(proposal.hearing_requested, proposal.hearing_held, hearing_required),
        manual_check("facts_evidence"),
        check_law_discretion(benchmark),
        check_within_authority(proposal.body_id, proposal.matter_code, proposal.action_type, powers,
                               proposal.proposed_at.date()),
        check_documents_complete(record_gaps, gap_names),
        check_crime_transfer(proposal, config),
    ]
