"""Problem-detection rules (EVAL-9) over facts → clues → accountability cases (EVAL-6)."""
from __future__ import annotations

import datetime as dt

from services.evaluation.domain.accountability import ClueSource, Stage
from services.evaluation.domain.facts import make_fact
from services.evaluation.configuration import load_rules
from services.evaluation.domain.rules import detect, open_case_from_clue

TODAY = dt.date(2024, 12, 31)


def _action(n, day, party, action_type="inspection", body="body-B", officers=("off-1",), **attrs):
    return [make_fact("enforcement_action", body_id=body, region_code="220102", occurred_on=day, event_id=f"a{n}",
                      officer_id=o, attrs={"action_type": action_type, "party_id": party, **attrs}) for o in officers]


def test_eval9_repeated_inspection_more_than_two_in_30_days():
    facts = []
    # party P1: 1, 10, 25 March (3 within 30 days → clue); then 1 June alone
    for n, day in enumerate([dt.date(2024, 3, 1), dt.date(2024, 3, 10), dt.date(2024, 3, 25), dt.date(2024, 6, 1)]):
        facts += _action(n, day, "P1", officers=("off-1", "off-2") if n == 1 else ("off-1",))
    # party P2: 1 Jan, 15 Jan, 31 Jan — 31 Jan is 30 days after 1 Jan: outside a 30-day window
    for n, day in enumerate([dt.date(2024, 1, 1), dt.date(2024, 1, 15), dt.date(2024, 1, 31)], start=10):
        facts += _action(n, day, "P2")
    # party P3: permits are not inspections
    for n in range(20, 25):
        facts += _action(n, dt.date(2024, 4, 1 + n - 20), "P3", action_type="permit")
    rules = [r for r in load_rules() if r.code == "REPEATED_INSPECTION"]
    clues = detect(facts, rules, TODAY)
    assert len(clues) == 1
    clue = clues[0]
    assert clue.evidence == ("a0", "a1", "a2") and clue.officer_ids == ("off-1", "off-2")
    assert clue.detail == "2024-03-01至2024-03-25对同一当事人（P1）检查3次，超过30日内2次"
    case = open_case_from_clue(clue, "AC-9", dt.datetime(2025, 1, 2, 9))
    assert case.stage is Stage.CLUE and case.source is ClueSource.DETECTION_RULE
    assert case.source_event_ids == ["a0", "a1", "a2"]


def test_eval9_fines_just_below_review_threshold():
    """Default threshold 50 000, market regulation 100 000; within 5% below; at least 2 per body."""
    facts = []
    facts += _action(1, dt.date(2024, 2, 1), "Q1", "penalty", fine_amount="47500")           # exactly 5% below → hit
    facts += _action(2, dt.date(2024, 3, 1), "Q2", "penalty", fine_amount="49999.99")        # hit
    facts += _action(3, dt.date(2024, 4, 1), "Q3", "penalty", fine_amount="50000")           # at threshold: reviewed
    facts += _action(4, dt.date(2024, 5, 1), "Q4", "penalty", fine_amount="47499.99")        # more than 5% below
    facts += _action(5, dt.date(2024, 6, 1), "Q5", "penalty", fine_amount="49000", field="market_regulation")  # 100k rule
    facts += _action(6, dt.date(2024, 6, 2), "Q6", "penalty", body="body-C", fine_amount="49000")  # only one for C
    rules = [r for r in load_rules() if r.code == "FINE_JUST_BELOW_REVIEW_THRESHOLD"]
    clues = detect(facts, rules, TODAY)
    assert [(c.body_id, c.evidence) for c in clues] == [("body-B", ("a1", "a2"))]
    assert clues[0].detail == "2件罚款决定金额低于法制审核标准不足5%"


def test_eval9_overdue_steps_one_clue_per_event_and_stable_keys():
    facts = [make_fact("disclosure_overdue", body_id="body-D", region_code="220102001", occurred_on=dt.date(2024, 7, 1),
                       event_id="d1", officer_id=o) for o in ("off-1", "off-2")]
    facts.append(make_fact("complaint_ack_late", body_id="body-D", region_code="220102001",
                           occurred_on=dt.date(2024, 8, 1), event_id="c1"))
    facts.append(make_fact("disclosure_late", body_id="body-D", region_code="220102001",
                           occurred_on=dt.date(2024, 8, 2), event_id="l1"))  # published late: not an open step
    rules = [r for r in load_rules() if r.code == "OVERDUE_STEP"]
    clues = detect(facts, rules, TODAY)
    assert [(c.evidence, c.officer_ids) for c in clues] == [(("d1",), ("off-1", "off-2")), (("c1",), ())]
    again = detect(facts, rules, dt.date(2025, 1, 5))
    assert [c.key for c in again] == [c.key for c in clues]
