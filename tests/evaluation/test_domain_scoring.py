"""Scoring a generated year of facts against a hand-computed table — EVAL-2, EVAL-3, EVAL-4,
EVAL-5, EVAL-7, EVAL-8, REV-7 (indicators from config/evaluation/indicators.yaml as shipped).

The year is generated from a seeded generator: dates, officers (one or two per action, so one
event gives one fact per officer), event ids and which actions were late are random; the COUNTS
are fixed by the spec below, and the table further down was computed by hand from those counts
and the YAML (curves, weights), not by running the code.
"""
from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal

import pytest

from services.evaluation.domain.facts import Fact, make_fact
from services.evaluation.domain.grades import Grade, assign_grade
from services.evaluation.configuration import load_indicator_config
from services.evaluation.domain.scoring import score_body

YEAR = 2024

SPECS = {
    # city market regulation bureau, 长春市
    "A": dict(body_id="body-A", region="220100", actions=20, disc_on_time=19, review_required=4, review_approved=4,
              bypassed=0, record_gaps=0, av_required=10, av_missing=0, ack_on_time=5, ack_late=0, upheld=0,
              challenged=2, corrected=0, training=[60, 61, 90, 64], staffing=[(dt.date(2024, 3, 1), "0.06")],
              cert_invalid=0, satisfaction=[5, 5, 4, 4, 5, 4, 5, 4, 4, 5], zero_explained=0, zero_unexplained=0,
              special=[92, 96], case_file=[88]),
    # county bureau, 南关区
    "B": dict(body_id="body-B", region="220102", actions=40, disc_on_time=36, review_required=5, review_approved=5,
              bypassed=0, record_gaps=2, av_required=20, av_missing=2, ack_on_time=9, ack_late=1, upheld=1,
              challenged=4, corrected=0, training=[60, 72, 64, 80, 40],
              staffing=[(dt.date(2024, 3, 1), "0.05"), (dt.date(2024, 9, 1), "0.04")],
              cert_invalid=0, satisfaction=[4, 4, 4, 3], zero_explained=1, zero_unexplained=0,
              special=[], case_file=[80]),
    # county bureau, 宽城区 — good numbers but one major decision made without review (应审未审)
    "C": dict(body_id="body-C", region="220103", actions=60, disc_on_time=60, review_required=20, review_approved=19,
              bypassed=1, record_gaps=0, av_required=30, av_missing=0, ack_on_time=6, ack_late=0, upheld=0,
              challenged=3, corrected=0, training=[60, 60, 70, 80, 66, 61], staffing=[(dt.date(2024, 6, 1), "0.05")],
              cert_invalid=0, satisfaction=[5, 5, 5, 4], zero_explained=0, zero_unexplained=0,
              special=[90], case_file=[90]),
    # a street office (街道) under 南关区 — township indicator set
    "D": dict(body_id="body-D", region="220102001", actions=8, disc_on_time=6, review_required=0, review_approved=0,
              bypassed=0, record_gaps=2, av_required=4, av_missing=1, ack_on_time=1, ack_late=1, upheld=1,
              challenged=0, corrected=0, training=[60, 20, 40], staffing=[],
              cert_invalid=1, satisfaction=[3, 2], zero_explained=0, zero_unexplained=1,
              special=[], case_file=[60]),
}

# code: (value, score, weighted) — computed by hand (see docs/evaluation-rules.md for the curves)
HAND = {
    "A": {  # 19/20 on time = 95% → (0.95−0.8)/0.2 = 75 → ×12% = 9.00; special 94 → 2.82; case file 88 → 70 → 2.80
        "DISC_ON_TIME": ("0.9500", "75.00", "9.00"),
        "REVIEW_MAJOR": ("1.0000", "100.00", "12.00"),
        "RECORD_COMPLETE": ("1.0000", "100.00", "10.00"),
        "AV_COMPLIANCE": ("1.0000", "100.00", "8.00"),
        "COMPLAINT_ACK": ("1.0000", "100.00", "8.00"),
        "COMPLAINT_UPHELD": ("0.0000", "100.00", "6.00"),
        "CORRECTION_RATE": ("0.0000", "100.00", "8.00"),
        "TRAINING": ("1.0000", "100.00", "8.00"),
        "REVIEWER_STAFFING": ("0.0600", "100.00", "5.00"),
        "CERTIFICATES": ("0.0000", "100.00", "6.00"),
        "SATISFACTION": ("4.5000", "100.00", "6.00"),
        "ZERO_ENFORCEMENT": ("0.0000", "100.00", "4.00"),
        "SPECIAL_CHECK": ("94.0000", "94.00", "2.82"),
        "CASE_FILE_REVIEW": ("88.0000", "70.00", "2.80"),
    },
    "B": {  # no special check → excluded; total = 63.20 × 100 / 97 = 65.15
        "DISC_ON_TIME": ("0.9000", "50.00", "6.00"),
        "REVIEW_MAJOR": ("1.0000", "100.00", "12.00"),
        "RECORD_COMPLETE": ("0.9500", "50.00", "5.00"),
        "AV_COMPLIANCE": ("0.9000", "50.00", "4.00"),
        "COMPLAINT_ACK": ("0.9000", "50.00", "4.00"),
        "COMPLAINT_UPHELD": ("2.5000", "20.00", "1.20"),    # 1×100/40 = 2.5 → (3−2.5)/(3−0.5) = 20%
        "CORRECTION_RATE": ("0.0000", "100.00", "8.00"),
        "TRAINING": ("0.8000", "50.00", "4.00"),           # 4 of 5 officers ≥ 60 h → (0.8−0.6)/0.4
        "REVIEWER_STAFFING": ("0.0400", "80.00", "4.00"),  # latest snapshot (Sept) 4% of 5%
        "CERTIFICATES": ("0.0000", "100.00", "6.00"),
        "SATISFACTION": ("3.7500", "50.00", "3.00"),       # (3.75−3)/1.5
        "ZERO_ENFORCEMENT": ("0.0000", "100.00", "4.00"),  # explained → no deduction
        "SPECIAL_CHECK": (None, None, "0.00"),
        "CASE_FILE_REVIEW": ("80.0000", "50.00", "2.00"),
    },
    "C": {  # 19/20 reviewed = 95% → 50, minus 20 for the bypass → 30 → 3.60; total 90.30 → 优秀 by total, veto → 合格
        "DISC_ON_TIME": ("1.0000", "100.00", "12.00"),
        "REVIEW_MAJOR": ("0.9500", "30.00", "3.60"),
        "RECORD_COMPLETE": ("1.0000", "100.00", "10.00"),
        "AV_COMPLIANCE": ("1.0000", "100.00", "8.00"),
        "COMPLAINT_ACK": ("1.0000", "100.00", "8.00"),
        "COMPLAINT_UPHELD": ("0.0000", "100.00", "6.00"),
        "CORRECTION_RATE": ("0.0000", "100.00", "8.00"),
        "TRAINING": ("1.0000", "100.00", "8.00"),
        "REVIEWER_STAFFING": ("0.0500", "100.00", "5.00"),
        "CERTIFICATES": ("0.0000", "100.00", "6.00"),
        "SATISFACTION": ("4.7500", "100.00", "6.00"),
        "ZERO_ENFORCEMENT": ("0.0000", "100.00", "4.00"),
        "SPECIAL_CHECK": ("90.0000", "90.00", "2.70"),
        "CASE_FILE_REVIEW": ("90.0000", "75.00", "3.00"),
    },
    "D": {  # township set: no staffing indicator, record completeness weight 15;
            # total = 2.00 × 100 / 77 = 2.60 (no major decision, no challenge: 0/0 is 不适用, issue 16)
        "DISC_ON_TIME": ("0.7500", "0.00", "0.00"),
        "REVIEW_MAJOR": (None, None, "0.00"),              # no major decision → not applicable, not 100
        "RECORD_COMPLETE": ("0.7500", "0.00", "0.00"),
        "AV_COMPLIANCE": ("0.7500", "0.00", "0.00"),
        "COMPLAINT_ACK": ("0.5000", "0.00", "0.00"),
        "COMPLAINT_UPHELD": ("12.5000", "0.00", "0.00"),
        "CORRECTION_RATE": (None, None, "0.00"),           # nothing challenged → not applicable
        "TRAINING": ("0.3333", "0.00", "0.00"),            # 1 of 3 (exactly 60 h counts)
        "CERTIFICATES": ("12.5000", "0.00", "0.00"),
        "SATISFACTION": ("2.5000", "0.00", "0.00"),
        "ZERO_ENFORCEMENT": ("1.0000", "50.00", "2.00"),   # one unexplained zero-enforcement power
        "SPECIAL_CHECK": (None, None, "0.00"),
        "CASE_FILE_REVIEW": ("60.0000", "0.00", "0.00"),
    },
}
HAND_TOTALS = {"A": ("95.62", "优秀", "优秀"), "B": ("65.15", "合格", "合格"),
               "C": ("90.30", "优秀", "合格"), "D": ("2.60", "不合格", "不合格")}


class _Gen:
    """Seeded generator of one body's year of facts from a spec of counts."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.facts: list[Fact] = []

    def eid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def day(self, start=dt.date(2024, 1, 2), end=dt.date(2024, 12, 15)) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def add(self, kind, spec, day, event_id=None, officers=(None,), value=None, attrs=None) -> str:
        event_id = event_id or self.eid()
        for officer in officers:
            self.facts.append(make_fact(kind, body_id=spec["body_id"], region_code=spec["region"], occurred_on=day,
                                        event_id=event_id, officer_id=officer, value=value, attrs=attrs))
        return event_id

    def body_year(self, spec) -> list[Fact]:
        rng = self.rng
        officers = [f"{spec['body_id']}-o{i}" for i in range(len(spec["training"]))]
        for officer, hours in zip(officers, spec["training"]):
            self.add("certificate_valid", spec, dt.date(2024, 1, 2), officers=[officer])
            left = hours
            while left > 0:  # training in sessions of random length
                session = min(left, rng.choice([4, 8, 12, 16]))
                self.add("training_hours", spec, self.day(), officers=[officer], value=session)
                left -= session
        actions = []
        for _ in range(spec["actions"]):
            day = self.day()
            crew = rng.sample(officers, rng.choice([1, 2]))
            attrs = {"action_type": rng.choice(["penalty", "permit", "inspection"]),
                     "party_id": f"p{rng.randrange(1000)}"}
            actions.append((self.add("enforcement_action", spec, day, officers=crew, attrs=attrs), day, crew))
        pick = lambda n, pool: rng.sample(pool, n)  # noqa: E731
        on_time = set(a[0] for a in pick(spec["disc_on_time"], actions))
        for event_id, day, crew in actions:
            due = day + dt.timedelta(days=9)
            self.add("disclosure_due", spec, due)
            self.add("disclosure_on_time" if event_id in on_time else "disclosure_late", spec,
                     due - dt.timedelta(days=2) if event_id in on_time else due + dt.timedelta(days=3))
            self.add("record_case", spec, day)
        for _, day, crew in pick(spec["record_gaps"], actions):
            self.add("record_gap", spec, day, officers=crew)
        av_pool = pick(spec["av_required"], actions)
        for _, day, _crew in av_pool:
            self.add("av_required", spec, day)
        for _, day, crew in pick(spec["av_missing"], av_pool):
            self.add("av_missing", spec, day, officers=crew)
        major = pick(spec["review_required"], actions)
        for i, (_, day, crew) in enumerate(major):
            self.add("review_required", spec, day)
            if i < spec["review_approved"]:
                self.add("review_approved", spec, day, officers=crew)
            elif i < spec["review_approved"] + spec["bypassed"]:
                self.add("review_bypassed", spec, day, officers=crew)
        for kind in ("ack_on_time", "ack_late"):
            for _ in range(spec[kind]):
                self.add(f"complaint_{kind}", spec, self.day())
        for event_id, day, crew in pick(spec["upheld"], actions):
            self.add("complaint_upheld", spec, day + dt.timedelta(days=10), officers=crew)
        challenged = pick(spec["challenged"], actions)
        for _, day, crew in challenged:
            self.add("decision_challenged", spec, day + dt.timedelta(days=5))
        for _, day, crew in pick(spec["corrected"], challenged):
            self.add("decision_corrected", spec, day + dt.timedelta(days=15), officers=crew)
        for event_id, day, crew in pick(spec["cert_invalid"], actions):
            self.add("certificate_invalid_action", spec, day, event_id=event_id, officers=crew[:1])
        for day, ratio in spec["staffing"]:
            self.add("reviewer_staffing", spec, day, value=ratio)
        for rating in spec["satisfaction"]:
            self.add("satisfaction", spec, self.day(), value=rating)
        for kind in ("zero_enforcement_explained", "zero_enforcement_unexplained"):
            for _ in range(spec[kind.replace("zero_enforcement_", "zero_")]):
                self.add(kind, spec, dt.date(2024, 12, 20))
        for score in spec["special"]:
            self.add("special_check_score", spec, self.day(), value=score)
        for score in spec["case_file"]:
            self.add("case_file_review_score", spec, self.day(), value=score)
        return self.facts


@pytest.fixture(scope="module")
def config():
    return load_indicator_config()


@pytest.fixture(scope="module")
def year_facts():
    gen = _Gen(seed=20240101)
    for spec in SPECS.values():
        gen.body_year(spec)
    return list(gen.facts)


def _d(value):
    return None if value is None else Decimal(value)


@pytest.mark.parametrize("body", sorted(SPECS))
def test_eval2_generated_year_matches_hand_computed_table(body, config, year_facts):
    """EVAL-2/4/5/7/8, REV-7: every indicator, the total and the grade of bodies A–D, by hand."""
    spec = SPECS[body]
    score = score_body(year_facts, config, YEAR, body_id=spec["body_id"])
    assert score.final and score.as_of is None
    assert score.set_name == ("body-township" if body == "D" else "body-standard")
    got = {i.code: (i.value, i.score, i.weighted) for i in score.indicators}
    want = {code: (_d(v), _d(s), _d(w)) for code, (v, s, w) in HAND[body].items()}
    assert got == want
    total, by_total, final_grade = HAND_TOTALS[body]
    assert score.total == Decimal(total)
    result = assign_grade(score, year_facts)
    assert (result.by_total.value, result.grade.value) == (by_total, final_grade)


def test_eval4_veto_caps_body_c_and_names_the_bypass(config, year_facts):
    """EVAL-4, REV-2: 90.30 would be 优秀; the review bypass (一票否决) caps it at 合格, with evidence."""
    score = score_body(year_facts, config, YEAR, body_id="body-C")
    result = assign_grade(score, year_facts)
    assert result.by_total is Grade.EXCELLENT and result.grade is Grade.PASS
    assert [h.code for h in result.vetoes] == ["VETO_REVIEW_BYPASS"]
    bypass_ids = {f.event_id for f in year_facts if f.kind == "review_bypassed" and f.body_id == "body-C"}
    assert set(result.vetoes[0].evidence) == bypass_ids and len(bypass_ids) == 1
    assert result.reasons == ("一票否决：重大执法决定应审未审或审核未通过即作出决定（1起），等次调整为合格",)


@pytest.mark.parametrize("code,kinds", [
    ("DISC_ON_TIME", {"disclosure_on_time", "disclosure_due"}),
    ("REVIEW_MAJOR", {"review_required", "review_approved", "review_bypassed"}),
    ("RECORD_COMPLETE", {"record_case", "record_gap"}),
    ("COMPLAINT_UPHELD", {"complaint_upheld", "enforcement_action"}),
    ("TRAINING", {"training_hours", "certificate_valid"}),
    ("SATISFACTION", {"satisfaction"}),
])
def test_eval2_evidence_is_exactly_the_events_behind_each_indicator(code, kinds, config, year_facts):
    """EVAL-2 traceability: an indicator's evidence = the event ids of the facts it used, no more."""
    for spec in SPECS.values():
        score = score_body(year_facts, config, YEAR, body_id=spec["body_id"])
        expected = {f.event_id for f in year_facts if f.body_id == spec["body_id"] and f.kind in kinds}
        evidence = score.indicator(code).evidence
        assert set(evidence) == expected
        assert len(evidence) == len(set(evidence))


def test_eval2_latest_snapshot_evidence_is_the_one_snapshot_used(config, year_facts):
    score = score_body(year_facts, config, YEAR, body_id="body-B")
    sept = [f for f in year_facts if f.body_id == "body-B" and f.kind == "reviewer_staffing"
            and f.occurred_on == dt.date(2024, 9, 1)]
    assert score.indicator("REVIEWER_STAFFING").evidence == (sept[0].event_id,)


def test_eval3_two_officer_decision_counts_once_for_the_body(config, year_facts):
    """A decision by two officers is two facts with one event id; the body counts it once."""
    per_officer = [f for f in year_facts if f.body_id == "body-B" and f.kind == "enforcement_action"]
    assert len(per_officer) > 40  # some decisions had two officers
    score = score_body(year_facts, config, YEAR, body_id="body-B")
    assert score.indicator("COMPLAINT_UPHELD").detail == "1 × 100 ÷ 40 = 2.50"


def _disc_fact(kind, day, n, value=None):
    return make_fact(kind, body_id="body-E", region_code="220104", occurred_on=day, event_id=f"e-{kind}-{n}",
                     value=value)


def test_eval2_year_to_date_uses_only_facts_to_as_of():
    """Year-to-date (as_of) vs final: five dues by June all on time (100), ten in the year with one late
    (90% → 50 points); the staffing snapshot in force at the date is used."""
    facts = []
    for n in range(10):
        due = dt.date(2024, 2 + n, 10)
        facts.append(_disc_fact("disclosure_due", due, n))
        facts.append(_disc_fact("disclosure_late" if n == 7 else "disclosure_on_time", due, n))
    facts.append(_disc_fact("reviewer_staffing", dt.date(2024, 3, 1), 1, "0.05"))
    facts.append(_disc_fact("reviewer_staffing", dt.date(2024, 9, 1), 2, "0.025"))
    config = load_indicator_config()
    ytd = score_body(facts, config, YEAR, as_of=dt.date(2024, 6, 30))
    final = score_body(facts, config, YEAR)
    assert not ytd.final and ytd.as_of == dt.date(2024, 6, 30) and final.final
    assert ytd.indicator("DISC_ON_TIME").value == Decimal("1.0000")
    assert ytd.indicator("DISC_ON_TIME").score == Decimal("100.00")
    assert len(ytd.indicator("DISC_ON_TIME").evidence) == 10  # 5 dues + 5 publications (Feb–Jun)
    assert final.indicator("DISC_ON_TIME").value == Decimal("0.9000")
    assert final.indicator("DISC_ON_TIME").score == Decimal("50.00")
    assert ytd.indicator("REVIEWER_STAFFING").score == Decimal("100.00")
    assert final.indicator("REVIEWER_STAFFING").score == Decimal("50.00")  # 2.5% of 5%
    # final with as_of on 31 December is the same as no as_of
    assert score_body(facts, config, YEAR, as_of=dt.date(2024, 12, 31)) == final


def test_eval2_facts_of_other_years_do_not_count(config):
    facts = [_disc_fact("disclosure_due", dt.date(2023, 12, 20), 1), _disc_fact("disclosure_due", dt.date(2024, 1, 20), 2),
             _disc_fact("disclosure_on_time", dt.date(2024, 1, 18), 2)]
    score = score_body(facts, config, YEAR)
    assert score.indicator("DISC_ON_TIME").value == Decimal("1.0000")


def test_eval2_score_body_needs_one_body_or_an_explicit_id(config, year_facts):
    with pytest.raises(ValueError, match="cannot infer body_id"):
        score_body(year_facts, config, YEAR)
