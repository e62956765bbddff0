"""Domain extensions made for the service: cancelling a not-yet-published decision (DISC-6), names found
after a label masked everywhere (DISC-4), cancelled decisions in the annual report (DISC-7)."""
import datetime as dt

import pytest

from services.disclosure.domain.annual import DecisionRecord, build_annual_report, render_annual_report
from services.disclosure.domain.model import decision_from_payload
from services.disclosure.domain.publication import (InvalidTransition, Publication, PublicationState,
                                                    WithdrawalReason)
from services.disclosure.domain.redaction import redact_decision

NOW = dt.datetime(2026, 5, 1, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def test_disc6_pending_publication_is_cancelled_not_withdrawn():
    p = Publication("P1", "C1", "武罚〔2026〕1号")
    with pytest.raises(InvalidTransition):
        p.withdraw(WithdrawalReason.REVOKED, NOW, "system", "复议撤销")
    p.cancel(WithdrawalReason.REVOKED, NOW, "system", "行政复议决定（2026-05-01）")
    assert p.state is PublicationState.CANCELLED and p.current is None
    assert p.history[-1].reason_zh == "原执法决定在公开前依法撤销：行政复议决定（2026-05-01），不再公开"
    assert "不再公开" in p.public_view().notice_zh
    with pytest.raises(InvalidTransition):
        p.cancel(WithdrawalReason.REVOKED, NOW, "system", "again")


def test_disc4_name_found_after_a_label_is_masked_wherever_it_appears_again():
    payload = {"case_id": "c", "decision_no": "X罚〔2026〕1号", "body_id": "b", "body_name": "B",
               "action_type": "penalty", "decided_at": "2026-03-01", "category": "c", "legal_basis": "l",
               "conclusion": "罚款100元", "parties": [{"party_kind": "legal", "name": "某某有限公司"}],
               "facts": "证人王建国证实其销售过期食品，王建国另称不知情。"}
    facts = redact_decision(decision_from_payload(payload)).entry.facts
    assert "王建国" not in facts and facts.count("王某") == 2


def test_disc7_decisions_cancelled_before_publication_are_neither_late_nor_taken_down():
    records = [DecisionRecord("C1", "B", "penalty", dt.date(2025, 3, 2), publication_due=dt.date(2025, 3, 11),
                              cancelled_before_publication=True, withdrawal_reason="revoked"),
               DecisionRecord("C2", "B", "penalty", dt.date(2025, 3, 2), publication_due=dt.date(2025, 3, 11),
                              published_on=dt.date(2025, 3, 3))]
    report = build_annual_report("B", "某局", 2025, records, as_of=dt.date(2026, 1, 5))
    assert report.total == 2 and report.cancelled_before_publication == 1
    assert report.unpublished_overdue == 0 and report.takedowns_total == 0 and report.published_on_time == 1
    assert "另有1件决定在公开前" in render_annual_report(report)
