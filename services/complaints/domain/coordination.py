"""Coordination across bodies, departments, regions and tiers (COORD-1, COORD-2, COORD-3) — pure rules.

- **Clues** (违法线索移送, COORD-1): a clue raised in one body is sent to another body; the recipient
  acknowledges (签收) within ``clue.acknowledge`` and answers (反馈处理结果) within ``clue.feedback``
  working days; a clue still open past a due day escalates to the recipient's superior regions, one
  tier per ``escalation_step_working_days``. The sender keeps the clue; the recipient's answers reach it
  as snapshots with a version (``ClueAnswer``), so answers applied in any order end the same.
- **Inspection results** (处理结果互认, 多头检查、重复检查): a result recorded by one body is visible to every
  body inspecting the same party; an inspection of the same party and matter within the configured
  window (``inspection.repeat_window``) is flagged — 重复检查 by the same body, 多头检查 by another.
- **Jurisdiction disputes** (管辖争议, COORD-2): the common superior's legal office coordinates: parties'
  statements, a decision within ``dispute.decide`` working days, the decision naming the competent
  body; the complaint or clue it came from is then routed by it.
- **Transfers** (行政执法与刑事司法衔接; 移送纪检监察, COORD-3): a transfer to the public security organ,
  the procuratorate or discipline inspection with its documents by SM3 hash, the receipt (受理回执) and
  the outcome; a transfer decided but not sent within ``transfer.send`` is 应移未移, a receipt or an
  outcome not in within its period is overdue.

No database, messaging or clock: days and the working-day calendar are passed in.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

from services.common.identifiers import is_region_code, parent_region, region_covers, region_tier
from services.common.periods import Period
from services.common.workdays import WorkingDayCalendar

from .deadlines import count_period, escalation_steps

CLUE_ACKNOWLEDGE, CLUE_FEEDBACK = "clue.acknowledge", "clue.feedback"
DISPUTE_DECIDE = "dispute.decide"
TRANSFER_SEND, TRANSFER_RECEIPT, TRANSFER_OUTCOME = "transfer.send", "transfer.receipt", "transfer.outcome"
REPEAT_WINDOW = "inspection.repeat_window"

_SHA_HEX = re.compile(r"^[0-9a-f]{64}$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


class CoordinationError(ValueError):
    """A request the rules refuse: ``status`` (409 state, 422 content), Chinese message, field errors."""

    def __init__(self, message: str, fields: dict | None = None, status: int = 422):
        super().__init__(message)
        self.message, self.fields, self.status = message, fields or {}, status


def _text(value, name: str, label: str, errors: dict, *, chinese=True, max_len=2000) -> str:
    text = (value or "").strip() if isinstance(value, str) else ""
    if not text:
        errors[name] = [f"请填写{label}"]
    elif len(text) > max_len:
        errors[name] = [f"{label}不能超过{max_len}字"]
    elif chinese and not _CJK.search(text):
        errors[name] = [f"{label}应使用中文填写"]
    return text


@dataclass(frozen=True)
class Party:
    """A body taking part (执法主体 or an organ outside the suite), with its region (GB/T 2260)."""

    body_id: str
    region_code: str
    name: str | None = None

    def to_json(self) -> dict:
        return {"body_id": self.body_id, "region_code": self.region_code, "name": self.name}

    @classmethod
    def of(cls, data: dict) -> "Party":
        return cls(data["body_id"], data["region_code"], data.get("name"))


def party_of(data, name: str, errors: dict) -> Party | None:
    data = data if isinstance(data, dict) else {}
    body = (data.get("body_id") or "").strip() if isinstance(data.get("body_id"), str) else ""
    region = data.get("region_code") or ""
    if not body:
        errors[f"{name}.body_id"] = ["请填写执法主体"]
    if not (isinstance(region, str) and is_region_code(region)):
        errors[f"{name}.region_code"] = ["行政区划代码无效"]
    if errors.get(f"{name}.body_id") or errors.get(f"{name}.region_code"):
        return None
    nm = data.get("name")
    return Party(body, region, nm.strip() if isinstance(nm, str) and nm.strip() else None)


def history_entry(kind: str, on: dt.date, actor: str, text: str, **data) -> dict:
    return {"kind": kind, "on": on.isoformat(), "actor": actor, "text": text, **data}


# --- COORD-1: clues ---------------------------------------------------------------------------------
CLUE_STATUS_LABELS = {"sent": "已移送待签收", "acknowledged": "已签收办理中", "answered": "已反馈",
                      "declined": "已退回（管辖争议）"}
CLUE_RESULTS = {"case_opened": "已立案查处", "no_violation": "经核查未发现违法", "transferred_on": "已移送其他机关",
                "other": "其他"}
SOURCE_KINDS = ("staff", "complaint", "inspection", "service")


@dataclass(frozen=True)
class Clue:
    """违法线索 sent from ``sender`` to ``recipient``. ``version`` counts the recipient's answers."""

    clue_id: str
    sender: Party
    recipient: Party
    matter: str
    facts: str
    source_kind: str
    source_ref: str | None
    party_id: str | None
    sent_on: dt.date
    acknowledge_due: dt.date
    feedback_due: dt.date
    provisional: bool
    status: str = "sent"
    acknowledged_on: dt.date | None = None
    feedback_on: dt.date | None = None
    result: str | None = None
    feedback: str | None = None
    declined_reason: str | None = None
    version: int = 0
    escalations: tuple = ()
    history: tuple = ()

    # -- construction -----------------------------------------------------------------------------
    @classmethod
    def new(cls, clue_id: str, sender: Party, recipient: Party, form: dict, *, today: dt.date, actor: str,
            periods: dict[str, Period], calendar: WorkingDayCalendar) -> "Clue":
        errors: dict = {}
        matter = _text(form.get("matter"), "matter", "线索事项", errors, max_len=200)
        facts = _text(form.get("facts"), "facts", "线索内容", errors)
        source_kind = form.get("source_kind") or "staff"
        if source_kind not in SOURCE_KINDS:
            errors["source_kind"] = ["线索来源无效"]
        if sender.body_id == recipient.body_id:
            errors["to_body_id"] = ["不能向本机关移送线索"]
        if errors:
            raise CoordinationError("请求内容有误", errors)
        ack = count_period(today, periods[CLUE_ACKNOWLEDGE], calendar)
        fb = count_period(today, periods[CLUE_FEEDBACK], calendar)
        party_id = form.get("party_id") if isinstance(form.get("party_id"), str) and form.get("party_id") else None
        ref = form.get("source_ref") if isinstance(form.get("source_ref"), str) and form.get("source_ref") else None
        return cls(clue_id, sender, recipient, matter, facts, source_kind, ref, party_id, today, ack.due, fb.due,
                   ack.provisional or fb.provisional,
                   history=(history_entry("sent", today, actor, f"移送线索至{recipient.name or recipient.body_id}"),))

    # -- the recipient's side ---------------------------------------------------------------------
    def _open(self, action: str) -> None:
        if self.status in ("answered", "declined"):
            raise CoordinationError(f"线索当前状态为“{CLUE_STATUS_LABELS[self.status]}”，不能{action}", status=409)

    def acknowledge(self, *, on: dt.date, actor: str) -> "Clue":
        self._open("签收")
        if self.status == "acknowledged":
            raise CoordinationError("线索已签收", status=409)
        return dataclasses.replace(self, status="acknowledged", acknowledged_on=on, version=self.version + 1,
                                   history=self.history + (history_entry("acknowledged", on, actor, "接收机关已签收"),))

    def answer(self, result: str, text: str, *, on: dt.date, actor: str) -> "Clue":
        self._open("反馈")
        errors: dict = {}
        if result not in CLUE_RESULTS:
            errors["result"] = ["处理结果应为：" + "、".join(f"{k}（{v}）" for k, v in CLUE_RESULTS.items())]
        feedback = _text(text, "feedback", "反馈内容", errors)
        if errors:
            raise CoordinationError("请求内容有误", errors)
        return dataclasses.replace(
            self, status="answered", acknowledged_on=self.acknowledged_on or on, feedback_on=on, result=result,
            feedback=feedback, version=self.version + 1,
            history=self.history + (history_entry("answered", on, actor, f"反馈处理结果：{CLUE_RESULTS[result]}"),))

    def decline(self, reason: str, *, on: dt.date, actor: str) -> "Clue":
        """The recipient says it has no jurisdiction (管辖异议): a dispute is opened for the clue."""
        self._open("退回")
        errors: dict = {}
        reason = _text(reason, "reason", "退回理由", errors)
        if errors:
            raise CoordinationError("请求内容有误", errors)
        return dataclasses.replace(
            self, status="declined", declined_reason=reason, version=self.version + 1,
            history=self.history + (history_entry("declined", on, actor, f"接收机关提出管辖异议：{reason}"),))

    def answer_snapshot(self) -> dict:
        """What the recipient's side tells the sender (``clue.answered``): its whole state, versioned."""
        return {"clue_id": self.clue_id, "version": self.version, "status": self.status,
                "acknowledged_on": self.acknowledged_on, "feedback_on": self.feedback_on, "result": self.result,
                "feedback": self.feedback, "declined_reason": self.declined_reason}

    def apply_answer(self, snap: dict) -> "Clue":
        """The sender's copy takes the recipient's newest answer; an older one (arriving late) changes
        nothing, so every arrival order ends the same."""
        if int(snap["version"]) <= self.version:
            return self
        day = lambda v: v if isinstance(v, dt.date) or v is None else dt.date.fromisoformat(v)  # noqa: E731
        status = snap["status"]
        on = day(snap.get("feedback_on")) or day(snap.get("acknowledged_on")) or self.sent_on
        return dataclasses.replace(
            self, status=status, version=int(snap["version"]), acknowledged_on=day(snap.get("acknowledged_on")),
            feedback_on=day(snap.get("feedback_on")), result=snap.get("result"), feedback=snap.get("feedback"),
            declined_reason=snap.get("declined_reason"),
            history=self.history + (history_entry("answer_received", on, "link",
                                                  f"收到接收机关回复：{CLUE_STATUS_LABELS.get(status, status)}",
                                                  version=int(snap["version"])),))

    def readdress(self, recipient: Party, *, on: dt.date, actor: str, periods: dict[str, Period],
                  calendar: WorkingDayCalendar, basis: str) -> "Clue":
        """After a coordination decision (COORD-2): the clue goes to the competent body, clocks afresh."""
        ack = count_period(on, periods[CLUE_ACKNOWLEDGE], calendar)
        fb = count_period(on, periods[CLUE_FEEDBACK], calendar)
        return dataclasses.replace(
            self, recipient=recipient, status="sent", acknowledged_on=None, feedback_on=None, result=None,
            feedback=None, declined_reason=None, sent_on=on, acknowledge_due=ack.due, feedback_due=fb.due,
            provisional=ack.provisional or fb.provisional, escalations=(), version=self.version + 1,
            history=self.history + (history_entry("readdressed", on, actor,
                                                  f"依管辖争议协调决定改送{recipient.name or recipient.body_id}",
                                                  basis=basis),))

    # -- deadlines (sender's side) ------------------------------------------------------------------
    def running(self) -> tuple[str, dt.date] | None:
        if self.status == "sent":
            return "acknowledge", self.acknowledge_due
        if self.status == "acknowledged":
            return "feedback", self.feedback_due
        return None

    def overdue(self, today: dt.date) -> bool:
        running = self.running()
        return running is not None and today > running[1]

    def apply_escalations(self, today: dt.date, calendar: WorkingDayCalendar, step: int) -> tuple["Clue", list]:
        """逾期督办: each escalation fallen due (recipient's parent region first, then one tier per
        ``step`` working days), recorded once per (stage, level). Returns the clue and the new steps."""
        running = self.running()
        if running is None:
            return self, []
        stage, due = running
        done = {(e["stage"], e["level"]) for e in self.escalations}
        new = []
        for s in escalation_steps(self.recipient.region_code, due, today, calendar=calendar, step_working_days=step):
            if (stage, s.level) in done:
                continue
            new.append({"stage": stage, "level": s.level, "to_region_code": s.region_code,
                        "tier": s.tier.value, "on": s.escalated_on.isoformat(), "due": due.isoformat()})
        if not new:
            return self, []
        label = "签收" if stage == "acknowledge" else "反馈"
        hist = tuple(history_entry("escalated", dt.date.fromisoformat(e["on"]), "system",
                                   f"逾期未{label}，提请{e['to_region_code']}督办",
                                   stage=e["stage"], level=e["level"], to_region_code=e["to_region_code"])
                     for e in new)
        return dataclasses.replace(self, escalations=self.escalations + tuple(new), history=self.history + hist), new

    def visible_to(self, scope) -> bool:
        """Both sides see it; so do the superiors of either (region-wide staff above: the ones an
        overdue clue is escalated to)."""
        return (scope.covers(self.sender.region_code, self.sender.body_id)
                or scope.covers(self.recipient.region_code, self.recipient.body_id))

    def to_json(self) -> dict:
        running = self.running()
        return {"clue_id": self.clue_id, "sender": self.sender.to_json(), "recipient": self.recipient.to_json(),
                "matter": self.matter, "facts": self.facts, "source_kind": self.source_kind,
                "source_ref": self.source_ref, "party_id": self.party_id, "sent_on": self.sent_on.isoformat(),
                "acknowledge_due": self.acknowledge_due.isoformat(), "feedback_due": self.feedback_due.isoformat(),
                "provisional": self.provisional, "status": self.status,
                "status_label": CLUE_STATUS_LABELS.get(self.status, self.status),
                "acknowledged_on": _iso(self.acknowledged_on), "feedback_on": _iso(self.feedback_on),
                "result": self.result, "result_label": CLUE_RESULTS.get(self.result) if self.result else None,
                "feedback": self.feedback, "declined_reason": self.declined_reason, "version": self.version,
                "running_stage": running[0] if running else None, "escalations": list(self.escalations),
                "history": list(self.history)}

    @classmethod
    def from_json(cls, d: dict) -> "Clue":
        return cls(d["clue_id"], Party.of(d["sender"]), Party.of(d["recipient"]), d["matter"], d["facts"],
                   d["source_kind"], d.get("source_ref"), d.get("party_id"), _day(d["sent_on"]),
                   _day(d["acknowledge_due"]), _day(d["feedback_due"]), bool(d.get("provisional")), d["status"],
                   _day(d.get("acknowledged_on")), _day(d.get("feedback_on")), d.get("result"), d.get("feedback"),
                   d.get("declined_reason"), int(d.get("version") or 0), tuple(d.get("escalations") or ()),
                   tuple(d.get("history") or ()))


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _day(value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


# --- COORD-1: mutual recognition of inspection results ----------------------------------------------
INSPECTION_OUTCOMES = {"no_problem": "未发现问题", "problems_found": "发现问题", "test_passed": "检验检测合格",
                       "test_failed": "检验检测不合格"}


@dataclass(frozen=True)
class PriorInspection:
    result_id: str
    body_id: str
    matter: str
    inspected_on: dt.date


def repeat_flags(body_id: str, matter: str, inspected_on: dt.date, earlier: list[PriorInspection],
                 window_days: int) -> dict:
    """多头检查、重复检查: inspections of the same party and matter within ``window_days`` calendar days
    before (or on) ``inspected_on``. Same body → ``repeat`` (重复检查); another body → ``multi_body``
    (多头检查). The earlier results are named so the inspector can recognise them (结果互认)."""
    norm = lambda s: re.sub(r"\s+", "", s or "")  # noqa: E731
    within = [p for p in earlier if norm(p.matter) == norm(matter)
              and dt.timedelta(0) <= inspected_on - p.inspected_on <= dt.timedelta(days=window_days)]
    same = [p.result_id for p in within if p.body_id == body_id]
    other = [p.result_id for p in within if p.body_id != body_id]
    labels = []
    if same:
        labels.append("重复检查")
    if other:
        labels.append("多头检查")
    return {"repeat": bool(same), "multi_body": bool(other), "earlier_ids": same + other, "labels": labels,
            "window_days": window_days}


def validate_inspection(form: dict, today: dt.date) -> dict:
    errors: dict = {}
    party_id = form.get("party_id")
    if not (isinstance(party_id, str) and 6 <= len(party_id.strip()) <= 64):
        errors["party_id"] = ["请填写被检查对象的统一社会信用代码或证件号码"]
    matter = _text(form.get("matter"), "matter", "检查事项", errors, max_len=200)
    outcome = form.get("outcome")
    if outcome not in INSPECTION_OUTCOMES:
        errors["outcome"] = ["检查结果应为：" + "、".join(f"{k}（{v}）" for k, v in INSPECTION_OUTCOMES.items())]
    try:
        on = _day(form.get("inspected_on")) if form.get("inspected_on") else today
    except (TypeError, ValueError):
        on, errors["inspected_on"] = today, ["检查日期格式应为 YYYY-MM-DD"]
    if on > today:
        errors["inspected_on"] = ["检查日期不能晚于今天"]
    summary = form.get("summary") if isinstance(form.get("summary"), str) else ""
    if len(summary) > 2000:
        errors["summary"] = ["检查结果说明不能超过2000字"]
    docs = form.get("documents") or []
    if not isinstance(docs, list) or not all(isinstance(d, str) and _SHA_HEX.match(d) for d in docs):
        errors["documents"] = ["文书应以SM3摘要（64位十六进制小写）列出"]
    if errors:
        raise CoordinationError("请求内容有误", errors)
    return {"party_id": party_id.strip(), "party_name": (form.get("party_name") or None), "matter": matter,
            "outcome": outcome, "inspected_on": on, "summary": summary, "documents": list(docs)}


# --- COORD-2: jurisdiction disputes -----------------------------------------------------------------
DISPUTE_STATUS_LABELS = {"open": "协调中", "decided": "已作出协调决定"}


def supervising_region(region_code: str) -> str:
    """The region whose government (and its legal office) supervises a body of ``region_code``: a
    township's county (no legal office below the county)."""
    return region_code[:6] if len(region_code) == 9 else region_code


def common_superior(parties: list[Party], home_region: str) -> tuple[str, str | None]:
    """The region whose legal office coordinates a dispute between ``parties`` (管辖争议由共同的上一级机关
    协调): the lowest region covering every party's supervising region (two bodies of one county → that
    county; of two counties → the city; of two cities → the province). Across provinces nothing above a
    province is in the suite: the province of ``home_region`` (where the dispute was raised) registers it
    and reports it to the State Council's departments (报请国务院有关部门协调) — said in the note."""
    regions = [supervising_region(p.region_code) for p in parties]
    chains = []
    for code in regions:
        chain, current = [], code
        while current is not None:
            chain.append(current)
            current = parent_region(current)
        chains.append(chain)
    common = set(chains[0]).intersection(*chains[1:])
    for code in chains[0]:
        if code in common:
            return code, None
    return home_region[:2] + "0000", "争议各方分属不同省份，由本省司法行政部门报请国务院有关部门协调，协调结果在此登记"


@dataclass(frozen=True)
class Dispute:
    """管辖争议协调案件 at the legal office of ``coordinator_region``."""

    dispute_id: str
    parties: tuple[Party, ...]
    matter: str
    source_kind: str             # complaint | clue | body
    source_ref: str | None
    coordinator_region: str
    note: str | None
    raised_by: str
    raised_on: dt.date
    decision_due: dt.date
    provisional: bool
    status: str = "open"
    statements: tuple = ()
    decision: dict | None = None
    history: tuple = ()

    @classmethod
    def open(cls, dispute_id: str, parties: list[Party], matter: str, *, source_kind: str, source_ref: str | None,
             raised_by: str, today: dt.date, periods: dict[str, Period], calendar: WorkingDayCalendar,
             home_region: str) -> "Dispute":
        errors: dict = {}
        matter = _text(matter, "matter", "争议事项", errors, max_len=500)
        unique = list(dict.fromkeys(parties))
        if len({p.body_id for p in unique}) < 2:
            errors["parties"] = ["管辖争议须至少有两个争议方"]
        if errors:
            raise CoordinationError("请求内容有误", errors)
        region, note = common_superior(unique, home_region)
        due = count_period(today, periods[DISPUTE_DECIDE], calendar)
        return cls(dispute_id, tuple(unique), matter, source_kind, source_ref, region, note, raised_by, today, due.due,
                   due.provisional,
                   history=(history_entry("opened", today, raised_by,
                                          f"管辖争议提请{region}司法行政部门协调"),))

    def party(self, body_id: str) -> Party | None:
        return next((p for p in self.parties if p.body_id == body_id), None)

    def state(self, action: str) -> None:
        if self.status != "open":
            raise CoordinationError(f"协调案件已作出决定，不能{action}", status=409)

    def add_statement(self, body_id: str, text: str, *, on: dt.date, actor: str) -> "Dispute":
        self.state("再提交意见")
        errors: dict = {}
        text = _text(text, "statement", "争议方意见", errors)
        if self.party(body_id) is None:
            errors["body_id"] = ["只有争议方可以陈述意见"]
        if errors:
            raise CoordinationError("请求内容有误", errors)
        st = {"body_id": body_id, "text": text, "on": on.isoformat(), "actor": actor}
        return dataclasses.replace(self, statements=self.statements + (st,),
                                   history=self.history + (history_entry("statement", on, actor,
                                                                         f"{body_id}陈述意见"),))

    def decide(self, competent: Party, reason: str, *, on: dt.date, actor: str,
               handling_unit: Party | None = None) -> "Dispute":
        """协调决定: ``competent`` is the body with jurisdiction; for a complaint, ``handling_unit`` the
        unit that handles it (defaults to the competent body)."""
        self.state("再作决定")
        errors: dict = {}
        reason = _text(reason, "reason", "决定理由", errors)
        if self.note is None and not region_covers(self.coordinator_region, competent.region_code):
            errors["competent.region_code"] = [f"管辖机关应在协调机关辖区（{self.coordinator_region}）内"]
        if errors:
            raise CoordinationError("请求内容有误", errors)
        decision = {"competent": competent.to_json(), "reason": reason, "decided_on": on.isoformat(),
                    "decided_by": actor, "late": on > self.decision_due,
                    "handling_unit": (handling_unit or competent).to_json()}
        return dataclasses.replace(self, status="decided", decision=decision,
                                   history=self.history + (history_entry(
                                       "decided", on, actor, f"协调决定由{competent.name or competent.body_id}管辖"),))

    def visible_to(self, scope) -> bool:
        if scope.all_bodies and scope.covers_region(self.coordinator_region):
            return True
        return any(scope.covers(p.region_code, p.body_id) for p in self.parties)

    def may_decide(self, scope) -> bool:
        """The coordinator's legal office: region-wide staff of the coordinator region (or above)."""
        return scope.all_bodies and scope.covers_region(self.coordinator_region)

    def to_json(self, today: dt.date | None = None) -> dict:
        return {"dispute_id": self.dispute_id, "parties": [p.to_json() for p in self.parties], "matter": self.matter,
                "source_kind": self.source_kind, "source_ref": self.source_ref,
                "coordinator_region": self.coordinator_region, "coordinator_unit": f"{self.coordinator_region}-SFJ",
                "note": self.note,
                "raised_by": self.raised_by, "raised_on": self.raised_on.isoformat(),
                "decision_due": self.decision_due.isoformat(), "provisional": self.provisional,
                "status": self.status, "status_label": DISPUTE_STATUS_LABELS[self.status],
                "overdue": bool(today and self.status == "open" and today > self.decision_due),
                "statements": list(self.statements), "decision": self.decision, "history": list(self.history)}

    @classmethod
    def from_json(cls, d: dict) -> "Dispute":
        return cls(d["dispute_id"], tuple(Party.of(p) for p in d["parties"]), d["matter"], d["source_kind"],
                   d.get("source_ref"), d["coordinator_region"], d.get("note"), d["raised_by"], _day(d["raised_on"]),
                   _day(d["decision_due"]), bool(d.get("provisional")), d["status"], tuple(d.get("statements") or ()),
                   d.get("decision"), tuple(d.get("history") or ()))


# --- COORD-3: transfers to judicial organs and discipline inspection ---------------------------------
RECIPIENTS = {"public_security": "公安机关", "procuratorate": "人民检察院", "discipline_inspection": "纪检监察机关"}
TRANSFER_STATUS_LABELS = {"pending": "应移送待移送", "sent": "已移送待回执", "received": "已受理待结果",
                          "concluded": "已反馈结果"}
TRANSFER_OUTCOMES = {"filed": "已立案", "not_filed": "不予立案", "returned": "退回移送机关",
                     "disciplined": "已给予处分", "no_action": "不予处理"}
STAGE_LABELS = {"send": "应移未移", "receipt": "逾期未回执", "outcome": "逾期未反馈结果"}


@dataclass(frozen=True)
class Transfer:
    """移送 (涉嫌犯罪案件 or 纪检监察线索) of ``body`` to a recipient organ, tracked to its outcome."""

    transfer_id: str
    body: Party
    recipient_kind: str
    recipient_name: str
    matter: str
    case_id: str | None
    source_kind: str              # case | clue | accountability
    source_ref: str | None
    opened_on: dt.date
    status: str
    due: dt.date                  # of the step running
    provisional: bool
    documents: tuple = ()         # ({name, sm3}, …)
    sent_on: dt.date | None = None
    receipt: dict | None = None
    outcome: dict | None = None
    overdue_stages: tuple = ()
    history: tuple = ()

    @classmethod
    def open(cls, transfer_id: str, body: Party, form: dict, *, today: dt.date, actor: str,
             periods: dict[str, Period], calendar: WorkingDayCalendar, pending: bool = False,
             source_kind: str = "case", source_ref: str | None = None) -> "Transfer":
        """A transfer sent now (documents listed), or, ``pending``, one decided but not yet sent (due
        within ``transfer.send``: past it, 应移未移)."""
        errors: dict = {}
        kind = form.get("recipient_kind")
        if kind not in RECIPIENTS:
            errors["recipient_kind"] = ["接收机关应为：" + "、".join(f"{k}（{v}）" for k, v in RECIPIENTS.items())]
        name = _text(form.get("recipient_name"), "recipient_name", "接收机关名称", errors, max_len=200)
        matter = _text(form.get("matter"), "matter", "移送事项", errors, max_len=500)
        case_id = form.get("case_id") if isinstance(form.get("case_id"), str) and form.get("case_id") else None
        if kind in ("public_security", "procuratorate") and not case_id:
            errors["case_id"] = ["移送涉嫌犯罪案件须填写案件编号"]
        docs = () if pending else _documents(form.get("documents"), errors)
        if errors:
            raise CoordinationError("请求内容有误", errors)
        step = TRANSFER_SEND if pending else TRANSFER_RECEIPT
        due = count_period(today, periods[step], calendar)
        label = RECIPIENTS[kind]
        text = f"决定移送{label}，待移送" if pending else f"移送{name}（{label}），附文书{len(docs)}件"
        return cls(transfer_id, body, kind, name, matter, case_id, source_kind, source_ref, today,
                   "pending" if pending else "sent", due.due, due.provisional, docs,
                   None if pending else today, history=(history_entry("opened" if pending else "sent", today, actor,
                                                                      text),))

    def send(self, form: dict, *, today: dt.date, actor: str, periods: dict[str, Period],
             calendar: WorkingDayCalendar) -> "Transfer":
        if self.status != "pending":
            raise CoordinationError(f"移送当前状态为“{TRANSFER_STATUS_LABELS[self.status]}”，不能再移送", status=409)
        errors: dict = {}
        docs = _documents(form.get("documents"), errors)
        if errors:
            raise CoordinationError("请求内容有误", errors)
        due = count_period(today, periods[TRANSFER_RECEIPT], calendar)
        late = today > self.due
        return dataclasses.replace(self, status="sent", documents=docs, sent_on=today, due=due.due,
                                   provisional=due.provisional,
                                   history=self.history + (history_entry("sent", today, actor,
                                                                         f"移送{self.recipient_name}，附文书{len(docs)}件"
                                                                         + ("（逾期移送）" if late else ""), late=late),))

    def record_receipt(self, form: dict, *, today: dt.date, actor: str, periods: dict[str, Period],
                       calendar: WorkingDayCalendar) -> "Transfer":
        if self.status != "sent":
            raise CoordinationError(f"移送当前状态为“{TRANSFER_STATUS_LABELS[self.status]}”，不能登记回执", status=409)
        errors: dict = {}
        received_on = _date_field(form.get("received_on"), "received_on", "回执日期", errors, today)
        receipt_no = _text(form.get("receipt_no"), "receipt_no", "回执编号", errors, chinese=False, max_len=100)
        if received_on and self.sent_on and received_on < self.sent_on:
            errors["received_on"] = ["回执日期不能早于移送日期"]
        if errors:
            raise CoordinationError("请求内容有误", errors)
        due = count_period(received_on, periods[TRANSFER_OUTCOME], calendar)
        return dataclasses.replace(self, status="received", due=due.due, provisional=due.provisional,
                                   receipt={"received_on": received_on.isoformat(), "receipt_no": receipt_no,
                                            "recorded_by": actor},
                                   history=self.history + (history_entry("received", today, actor,
                                                                         f"{self.recipient_name}出具受理回执"),))

    def record_outcome(self, form: dict, *, today: dt.date, actor: str) -> "Transfer":
        if self.status not in ("sent", "received"):
            raise CoordinationError(f"移送当前状态为“{TRANSFER_STATUS_LABELS[self.status]}”，不能登记结果", status=409)
        errors: dict = {}
        outcome = form.get("outcome")
        if outcome not in TRANSFER_OUTCOMES:
            errors["outcome"] = ["结果应为：" + "、".join(f"{k}（{v}）" for k, v in TRANSFER_OUTCOMES.items())]
        on = _date_field(form.get("decided_on"), "decided_on", "结果日期", errors, today)
        text = _text(form.get("text"), "text", "结果说明", errors)
        if errors:
            raise CoordinationError("请求内容有误", errors)
        return dataclasses.replace(self, status="concluded",
                                   outcome={"outcome": outcome, "label": TRANSFER_OUTCOMES[outcome],
                                            "decided_on": on.isoformat(), "text": text, "recorded_by": actor},
                                   history=self.history + (history_entry("concluded", today, actor,
                                                                         f"移送结果：{TRANSFER_OUTCOMES[outcome]}"),))

    def running_stage(self) -> str | None:
        return {"pending": "send", "sent": "receipt", "received": "outcome"}.get(self.status)

    def overdue_now(self, today: dt.date) -> tuple["Transfer", str | None]:
        """The stage newly overdue today (once per stage): 应移未移, no receipt, no outcome."""
        stage = self.running_stage()
        if stage is None or today <= self.due or stage in self.overdue_stages:
            return self, None
        return dataclasses.replace(self, overdue_stages=self.overdue_stages + (stage,),
                                   history=self.history + (history_entry("overdue", today, "system",
                                                                         STAGE_LABELS[stage], stage=stage),)), stage

    def visible_to(self, scope) -> bool:
        return scope.covers(self.body.region_code, self.body.body_id)

    def to_json(self, today: dt.date | None = None) -> dict:
        stage = self.running_stage()
        return {"transfer_id": self.transfer_id, "body": self.body.to_json(), "recipient_kind": self.recipient_kind,
                "recipient_label": RECIPIENTS[self.recipient_kind], "recipient_name": self.recipient_name,
                "matter": self.matter, "case_id": self.case_id, "source_kind": self.source_kind,
                "source_ref": self.source_ref, "opened_on": self.opened_on.isoformat(), "status": self.status,
                "status_label": TRANSFER_STATUS_LABELS[self.status], "running_stage": stage,
                "due": self.due.isoformat() if stage else None, "provisional": self.provisional,
                "overdue": bool(today and stage and today > self.due),
                "documents": list(self.documents), "sent_on": _iso(self.sent_on), "receipt": self.receipt,
                "outcome": self.outcome, "overdue_stages": list(self.overdue_stages), "history": list(self.history)}

    @classmethod
    def from_json(cls, d: dict) -> "Transfer":
        return cls(d["transfer_id"], Party.of(d["body"]), d["recipient_kind"], d["recipient_name"], d["matter"],
                   d.get("case_id"), d["source_kind"], d.get("source_ref"), _day(d["opened_on"]), d["status"],
                   _day(d["due"]) if d.get("due") else _day(d["opened_on"]), bool(d.get("provisional")),
                   tuple(d.get("documents") or ()), _day(d.get("sent_on")), d.get("receipt"), d.get("outcome"),
                   tuple(d.get("overdue_stages") or ()), tuple(d.get("history") or ()))


def _documents(value, errors: dict) -> tuple:
    docs = value if isinstance(value, list) else None
    if not docs:
        errors["documents"] = ["须列出移送的文书（名称和SM3摘要），如涉嫌犯罪案件移送书、调查报告、涉案物品清单"]
        return ()
    out = []
    for i, d in enumerate(docs):
        name = d.get("name") if isinstance(d, dict) else None
        sm3 = d.get("sm3") if isinstance(d, dict) else None
        if not (isinstance(name, str) and name.strip() and len(name) <= 200):
            errors[f"documents.{i}.name"] = ["请填写文书名称"]
        if not (isinstance(sm3, str) and _SHA_HEX.match(sm3)):
            errors[f"documents.{i}.sm3"] = ["文书摘要应为SM3（64位十六进制小写）"]
        else:
            out.append({"name": name.strip() if isinstance(name, str) else "", "sm3": sm3})
    return tuple(out)


def _date_field(value, name: str, label: str, errors: dict, today: dt.date) -> dt.date | None:
    if value in (None, ""):
        return today
    try:
        day = _day(value)
    except (TypeError, ValueError):
        errors[name] = [f"{label}格式应为 YYYY-MM-DD"]
        return None
    if day > today:
        errors[name] = [f"{label}不能晚于今天"]
    return day


def tier_label(region_code: str) -> str:
    return region_tier(region_code).value
