"""Publication life cycle with history (公示信息发布、更正、撤下机制) — DISC-5, DISC-6.

One mechanism for publication, correction and withdrawal (建立健全执法决定信息公开发布、撤销和更新机制):

    pending ──publish──▶ published ──correct──▶ corrected ──correct──▶ corrected
       │                     │                      │
       │                     └──────withdraw────────┴──▶ withdrawn (terminal)
       └──cancel──▶ cancelled (terminal: revoked before publication, never published)

- correct (更正, DISC-5): a new revision with a Chinese reason; the old revision is kept internally
  but the public sees only the current one and *that* it was corrected, when and why;
- withdraw (撤下, DISC-6): the decision was revoked (撤销), confirmed illegal (确认违法) or must be
  re-made (重新作出); the public entry disappears and a notice remains. A re-made decision's
  publication is linked to the old one with :func:`link_remade`.

Every transition appends a :class:`HistoryItem` (time, actor, action, reason); invalid transitions
raise :class:`InvalidTransition`. No clock is read: ``now`` is passed in.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Sequence

from .model import Party
from .redaction import PublicEntry, RedactionRules, assert_no_personal_data, redact_text


class PublicationState(str, enum.Enum):
    PENDING = "pending"
    PUBLISHED = "published"
    CORRECTED = "corrected"
    WITHDRAWN = "withdrawn"
    CANCELLED = "cancelled"  # revoked / confirmed illegal / re-made before it was published: never published

    @property
    def label_zh(self) -> str:
        return {"pending": "待公开", "published": "已公开", "corrected": "已更正", "withdrawn": "已撤下",
                "cancelled": "公开前已撤销"}[self.value]


class WithdrawalReason(str, enum.Enum):
    """Why a published decision is taken down (撤下原因) — DISC-6."""

    REVOKED = "revoked"
    CONFIRMED_ILLEGAL = "confirmed_illegal"
    REMADE = "remade"

    @property
    def label_zh(self) -> str:
        return {"revoked": "依法撤销", "confirmed_illegal": "被确认违法", "remade": "被要求重新作出"}[self.value]


class Action(str, enum.Enum):
    PUBLISH = "publish"
    CORRECT = "correct"
    WITHDRAW = "withdraw"
    LINK_REMADE = "link_remade"  # on the old publication: the re-made decision was published
    LINK_REPLACES = "link_replaces"  # on the new publication: it replaces an older one
    CANCEL = "cancel"  # pending → cancelled: the decision fell away before publication

    @property
    def label_zh(self) -> str:
        return {"publish": "公开", "correct": "更正", "withdraw": "撤下",
                "link_remade": "关联重新作出的决定", "link_replaces": "关联原决定",
                "cancel": "不再公开"}[self.value]


class InvalidTransition(Exception):
    """A transition not allowed from the current state (message in Chinese)."""


@dataclass(frozen=True)
class HistoryItem:
    at: dt.datetime
    actor: str  # user id of the person acting (internal; never shown to the public)
    action: Action
    reason_zh: str
    revision: int
    changed_fields: tuple[str, ...] = ()
    withdrawal_reason: WithdrawalReason | None = None
    related_publication: str | None = None


@dataclass(frozen=True)
class Revision:
    number: int
    entry: PublicEntry
    at: dt.datetime


@dataclass(frozen=True)
class PublicHistoryItem:
    """One line of the public history (公开记录): what happened when, and why — no personal data."""

    at: dt.datetime
    action_zh: str
    reason_zh: str
    changed_fields_zh: tuple[str, ...] = ()


@dataclass(frozen=True)
class PublicView:
    """What the public platform shows for a publication."""

    publication_id: str
    state: PublicationState
    entry: PublicEntry | None
    notice_zh: str | None
    history: tuple[PublicHistoryItem, ...]
    replaces: str | None
    replaced_by: str | None


FIELD_LABELS_ZH = {
    "decision_no": "文书号", "body_name": "执法机关", "category": "执法类别", "parties": "执法对象",
    "facts": "违法事实", "legal_basis": "执法依据", "conclusion": "执法结论", "conclusion_type": "处理结果类型",
    "fine_amount": "罚款金额", "decided_on": "决定日期", "action_type": "行为类别", "summary_only": "公开方式",
    "notice_zh": "说明", "region_code": "行政区划", "body_id": "执法机关", "version": "版本",
}
_COMPARED = ("decision_no", "body_name", "category", "parties", "facts", "legal_basis", "conclusion",
             "conclusion_type", "fine_amount", "decided_on", "action_type", "summary_only", "notice_zh")


def changed_fields(old: PublicEntry, new: PublicEntry) -> tuple[str, ...]:
    """Names of the public fields that differ between two revisions."""
    return tuple(f for f in _COMPARED if getattr(old, f) != getattr(new, f))


def _require_reason(reason_zh: str) -> str:
    reason = (reason_zh or "").strip()
    if not reason:
        raise InvalidTransition("必须填写原因")
    return reason


@dataclass
class Publication:
    """The publication of one decision (一件执法决定的公示) with its full history — DISC-5, DISC-6."""

    publication_id: str
    case_id: str
    decision_no: str
    state: PublicationState = PublicationState.PENDING
    revisions: list[Revision] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)
    replaces: str | None = None  # the withdrawn publication this (re-made) decision replaces
    replaced_by: str | None = None  # the publication of the re-made decision
    withdrawal_reason: WithdrawalReason | None = None
    published_on: dt.date | None = None  # first publication day, for timeliness (DISC-3)

    @property
    def current(self) -> PublicEntry | None:
        """The entry the public sees now (None when pending or withdrawn)."""
        if self.state in (PublicationState.PUBLISHED, PublicationState.CORRECTED) and self.revisions:
            return self.revisions[-1].entry
        return None

    def _check_time(self, now: dt.datetime) -> None:
        if self.history and now < self.history[-1].at:
            raise InvalidTransition("操作时间早于上一次操作时间")

    def _check_entry(self, entry: PublicEntry, parties: Sequence[Party] | None) -> None:
        if entry.case_id != self.case_id:
            raise InvalidTransition("公示内容与本公示记录的案件不一致")
        if parties is not None:
            assert_no_personal_data(entry, parties)

    def publish(self, entry: PublicEntry, now: dt.datetime, actor: str,
                parties: Sequence[Party] | None = None, reason_zh: str = "依法公开执法决定信息") -> HistoryItem:
        """pending → published. With ``parties`` the entry is checked for personal data first."""
        if self.state is not PublicationState.PENDING:
            raise InvalidTransition(f"当前状态为“{self.state.label_zh}”，不能再次公开；如需修改请使用更正")
        self._check_time(now)
        self._check_entry(entry, parties)
        self.revisions.append(Revision(1, entry, now))
        self.state = PublicationState.PUBLISHED
        self.published_on = now.date()
        item = HistoryItem(now, actor, Action.PUBLISH, reason_zh, 1)
        self.history.append(item)
        return item

    def correct(self, entry: PublicEntry, now: dt.datetime, actor: str, reason_zh: str,
                parties: Sequence[Party] | None = None) -> HistoryItem:
        """published/corrected → corrected: a new revision (更正) with a reason — DISC-5."""
        if self.state not in (PublicationState.PUBLISHED, PublicationState.CORRECTED):
            raise InvalidTransition(f"当前状态为“{self.state.label_zh}”，不能更正")
        reason = _require_reason(reason_zh)
        self._check_time(now)
        self._check_entry(entry, parties)
        changed = changed_fields(self.revisions[-1].entry, entry)
        if not changed:
            raise InvalidTransition("更正后的内容与当前公示内容相同")
        number = self.revisions[-1].number + 1
        self.revisions.append(Revision(number, entry, now))
        self.state = PublicationState.CORRECTED
        item = HistoryItem(now, actor, Action.CORRECT, reason, number, changed)
        self.history.append(item)
        return item

    def withdraw(self, reason: WithdrawalReason, now: dt.datetime, actor: str, detail_zh: str) -> HistoryItem:
        """published/corrected → withdrawn (撤下) — DISC-6. ``detail_zh`` names the act, e.g.
        "经行政复议决定撤销（某复决字〔2026〕5号）"."""
        if self.state not in (PublicationState.PUBLISHED, PublicationState.CORRECTED):
            raise InvalidTransition(f"当前状态为“{self.state.label_zh}”，没有可撤下的公示信息")
        detail = _require_reason(detail_zh)
        self._check_time(now)
        self.state = PublicationState.WITHDRAWN
        self.withdrawal_reason = reason
        item = HistoryItem(now, actor, Action.WITHDRAW, f"原执法决定{reason.label_zh}：{detail}",
                           self.revisions[-1].number, withdrawal_reason=reason)
        self.history.append(item)
        return item

    def cancel(self, reason: WithdrawalReason, now: dt.datetime, actor: str, detail_zh: str) -> HistoryItem:
        """pending → cancelled: the decision was revoked, confirmed illegal or must be re-made before
        it was published, so it is not published at all (nothing to take down) — DISC-6."""
        if self.state is not PublicationState.PENDING:
            raise InvalidTransition(f"当前状态为“{self.state.label_zh}”，已公开的信息应撤下而不是取消公开")
        detail = _require_reason(detail_zh)
        self._check_time(now)
        self.state = PublicationState.CANCELLED
        self.withdrawal_reason = reason
        item = HistoryItem(now, actor, Action.CANCEL, f"原执法决定在公开前{reason.label_zh}：{detail}，不再公开", 0,
                           withdrawal_reason=reason)
        self.history.append(item)
        return item

    def public_view(self, parties: Sequence[Party] = (), rules: RedactionRules | None = None) -> PublicView:
        """The public view: current entry (if any), a notice, and the public history.

        Reasons typed by staff are free text: they are passed through the redactor with the
        decision's ``parties`` so no old personal data reaches the public history.
        """
        items = []
        for h in self.history:
            reason, _ = redact_text(h.reason_zh, parties, rules)
            labels = tuple(dict.fromkeys(FIELD_LABELS_ZH.get(f, f) for f in h.changed_fields))
            items.append(PublicHistoryItem(h.at, h.action.label_zh, reason, labels))
        notice = None
        if self.state is PublicationState.WITHDRAWN:
            when = next(h.at for h in reversed(self.history) if h.action is Action.WITHDRAW)
            notice = f"该行政执法决定已于{when.date().isoformat()}因{self.withdrawal_reason.label_zh}撤下原公示信息。"
            if self.replaced_by:
                notice += "重新作出的决定已另行公示。"
        elif self.state is PublicationState.CANCELLED:
            notice = f"该行政执法决定在公开前因{self.withdrawal_reason.label_zh}，不再公开。"
        elif self.state is PublicationState.CORRECTED:
            notice = f"该公示信息已更正{sum(1 for h in self.history if h.action is Action.CORRECT)}次，以下为更正后的内容。"
        return PublicView(self.publication_id, self.state, self.current, notice, tuple(items),
                          self.replaces, self.replaced_by)


def link_remade(old: Publication, new: Publication, now: dt.datetime, actor: str) -> None:
    """Link the publication of a re-made decision (重新作出的决定) to the withdrawn original — DISC-6.

    ``old`` must be withdrawn for reason ``remade`` and not linked yet; ``new`` must not replace
    anything yet. Both histories record the link.
    """
    if old.state is not PublicationState.WITHDRAWN or old.withdrawal_reason is not WithdrawalReason.REMADE:
        raise InvalidTransition("只有因被要求重新作出而撤下的公示信息才能关联重新作出的决定")
    if old.replaced_by is not None:
        raise InvalidTransition("原公示信息已关联过重新作出的决定")
    if new.replaces is not None:
        raise InvalidTransition("该公示信息已关联过原决定")
    if new.publication_id == old.publication_id:
        raise InvalidTransition("不能与自身关联")
    old._check_time(now)
    new._check_time(now)
    old.replaced_by = new.publication_id
    new.replaces = old.publication_id
    old.history.append(HistoryItem(now, actor, Action.LINK_REMADE,
                                   f"重新作出的决定（{new.decision_no}）已公示", old.revisions[-1].number,
                                   related_publication=new.publication_id))
    new.history.append(HistoryItem(now, actor, Action.LINK_REPLACES,
                                   f"本决定系对原决定（{old.decision_no}）重新作出",
                                   new.revisions[-1].number if new.revisions else 0,
                                   related_publication=old.publication_id))

