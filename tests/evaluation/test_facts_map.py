"""Which events give which facts (EVAL-2, EVAL-3, EVAL-5, EVAL-7, EVAL-8, REC-1, REC-3, CMP-5) — pure tests
of services/evaluation/facts_map.py, and the metrics refresh."""
import datetime as dt
from decimal import Decimal

from services.common import fieldcrypt
from services.common.events import parse_event
from services.evaluation import facts_map as fm
from services.evaluation import metrics
from tests.evaluation import year as Y


class FakeLookup:
    def __init__(self, officers=(), invalid=(), bodies=None, ratio=None):
        self.officers, self.invalid, self.bodies, self.ratio = list(officers), set(invalid), bodies or {}, ratio

    def officers_of_case(self, case_id):
        return self.officers

    def certificate_valid(self, officer_id, day):
        if officer_id == "unknown":
            return None
        return officer_id not in self.invalid

    def officer_body(self, officer_id):
        return self.bodies.get(officer_id)

    def reviewer_ratio(self, body_id):
        return self.ratio


def _event(env):
    return parse_event(env)


def test_plat3_decision_by_an_uncertified_officer_is_flagged_per_officer():
    e = _event(Y.decision(Y.B, "XBZR-07", Y.at(2025, 7, 15), ["b1", "b2", "unknown"], "X〔2025〕7号"))
    facts = fm.decision_made(e, FakeLookup(invalid={"b2"}))
    kinds = [(f.kind, f.officer_id) for f in facts]
    assert kinds == [("enforcement_action", "b1"), ("enforcement_action", "b2"), ("enforcement_action", "unknown"),
                     ("record_case", None), ("certificate_invalid_action", "b2")]
    assert all(f.on == dt.date(2025, 7, 15) for f in facts)
    # issue 22: the party is kept as a keyed blind index, not in clear
    assert facts[0].attrs["party_id"] == fieldcrypt.blind_index("evaluation", "P-XBZR-07", fm.PARTY_INDEX)
    assert "P-XBZR-07" not in str(facts[0].attrs) and facts[0].unique and facts[0].ref == "XBZR-07"


def test_eval7_correction_by_reconsideration_counts_challenge_and_correction_for_the_case_officers():
    e = _event(Y.revoked(Y.C, "CZCG-03", "reconsideration", Y.at(2025, 6, 8)))
    facts = fm.decision_revoked(e, FakeLookup(officers=["c1", "c2"]))
    assert [(f.kind, f.officer_id) for f in facts] == [("decision_challenged", None), ("decision_corrected", "c1"),
                                                       ("decision_corrected", "c2")]
    e = _event(Y.envelope("decision.revoked", {"reason": "revoked", "by": "body", "decided_at": "2025-06-08T10:00:00+08:00"},
                          Y.C, Y.at(2025, 6, 8), "CZCG-04"))
    assert [f.kind for f in fm.decision_revoked(e, FakeLookup())] == ["decision_withdrawn"]


def test_disc3_on_time_publication_is_dated_by_its_due_day():
    e = _event(Y.published(Y.A, "WJSJ-01", Y.at(2025, 12, 28), on_time=True))
    due, on_time = fm.published(e, FakeLookup())
    assert (due.kind, due.on, due.year) == ("disclosure_due", dt.date(2026, 1, 6), None)
    assert (on_time.kind, on_time.on) == ("disclosure_on_time", dt.date(2026, 1, 6))
    late = fm.published(_event(Y.published(Y.A, "WJSJ-02", Y.at(2025, 3, 1), on_time=False)), FakeLookup())[1]
    assert (late.kind, late.on) == ("disclosure_late", dt.date(2025, 3, 15))


def test_rec1_rec3_eval6_a_gap_report_is_no_fact_yet_and_advisory_av_does_not_count():
    """EVAL-6 (issue 16): a gap report draws no fact at arrival (the record may be in flight; the
    periodic job judges it final); its kinds: record_gap and av_missing, advisory AV ignored."""
    env = Y.envelope("record.gaps_found", {"gaps": [
        {"code": "prior_notice", "description": "缺少事先告知书", "stage": "decision"},
        {"code": "proof_of_service", "description": "缺少送达回证", "stage": "service_execution"},
        {"code": "av_full_process:seizure", "description": "查封未全程音像记录", "stage": "investigation"},
        {"code": "av_expected:onsite", "description": "现场执法宜音像记录", "stage": "investigation"}],
        "open_gap_codes": ["prior_notice"]}, Y.C, Y.at(2025, 4, 2), "CZCG-05", "zhifa.records")
    assert fm.record_gaps(_event(env), FakeLookup(officers=["c1"])) == []
    kinds = fm.gap_kinds(_event(env).payload)
    assert sorted(kinds) == ["av_missing", "record_gap"]
    assert kinds["record_gap"]["codes"] == ["prior_notice", "proof_of_service"]
    assert kinds["av_missing"]["codes"] == ["av_full_process:seizure"]


def test_cmp5_upheld_clue_is_not_counted_twice_and_backtracking_names_the_officers():
    base = {"label": "x", "region_code": "320400", "number": "320400-2025-0001", "subject_body_id": Y.C["body_id"],
            "description": "应受理未受理"}
    upheld = Y.envelope("complaint.accountability_clue", {**base, "kind": "upheld_complaint", "against_kind": "body",
                                                           "against_ids": [Y.C["body_id"]]}, Y.C, Y.at(2025, 6, 1),
                        None, "zhifa.complaints")
    assert fm.complaint_clue(_event(upheld), FakeLookup()) == []
    clue = Y.envelope("complaint.accountability_clue", {**base, "kind": "should_accept_not_accepted",
                                                         "against_kind": "officer", "against_ids": ["c1"]},
                      Y.C, Y.at(2025, 6, 1), None, "zhifa.complaints")
    facts = fm.complaint_clue(_event(clue), FakeLookup())
    assert [(f.kind, f.officer_id, f.ref) for f in facts] == [
        ("complaint_backtrack", "c1", "320400-2025-0001:should_accept_not_accepted")]


def test_eval5_training_and_eval8_explanation_and_rev7_staffing():
    e = _event(Y.training(Y.A, "a1", "12.5", dt.date(2025, 9, 10)))
    (f,) = fm.training_recorded(e, FakeLookup(bodies={"a1": "320412-SCJG"}))
    assert (f.kind, f.officer_id, f.value, f.body_id) == ("training_hours", "a1", Decimal("12.5"), "320412-SCJG")
    e = _event(Y.envelope("zero_enforcement.explained", {"year": 2025, "explanation": "本年度未发现违法行为需要查处。",
                                                         "explained_on": "2026-01-10"}, Y.E, Y.at(2026, 1, 10)))
    (f,) = fm.zero_enforcement_explained(e, FakeLookup())
    assert (f.kind, f.year, f.on) == ("zero_enforcement_explained", 2025, dt.date(2026, 1, 10))  # counts for 2025
    e = _event(Y.officer_registered(Y.A, "ar", "王审", Y.at(2025, 1, 6), roles=("legal_reviewer",), certificate=False))
    (f,) = fm.officer_registered(e, FakeLookup(ratio=Decimal("0.5")))
    assert (f.kind, f.value, f.replace, f.ref) == ("reviewer_staffing", Decimal("0.5"), True,
                                                   "staffing:320412-SCJG:2025-01-06")


def test_only_catalogued_events_get_handlers():
    active = {r.event_type for r in fm.active_rules()}
    assert {"decision.made", "disclosure.published", "training.recorded", "complaint.concluded"} <= active
    not_yet = fm.FactRule("disclosure", "disclosure.not_yet", "on_x", fm.published)
    assert not_yet not in fm.active_rules(fm.RULES + [not_yet])          # an uncatalogued event gets no handler
    assert len({r.method for r in fm.RULES}) == len(fm.RULES)  # queue names stay unique


def test_metrics_refresh_sets_grade_case_and_rectification_gauges():
    metrics.refresh([("320400", "body", "不合格", "final"), ("320400", "body", "不合格", "final"),
                     ("320400", "officer", "合格", "ytd")],
                    [("320400", "clue"), ("320400", "investigation")],
                    [("320400", "rectification", "red", True), ("320400", "suggestion", "green", False)])
    assert metrics.GRADES.labels("320400", "body", "不合格", "final")._value.get() == 2
    assert metrics.ACCOUNTABILITY_OPEN.labels("320400", "clue")._value.get() == 1
    assert metrics.RECTIFICATIONS_OPEN.labels("320400", "true")._value.get() == 1
    metrics.refresh([], [], [])
    assert metrics.GRADES.collect()[0].samples == []


def _coord(event_type, payload, body="320412-SCJG"):
    from tests.integration.events import envelope
    return _event(envelope(event_type, payload, body={"region_code": "320412", "body_id": body,
                                                      "system": "zhifa.complaints"}))


def test_coord3_transfers_counted_and_not_sending_is_a_fact_of_its_own():
    """COORD-3: a transfer (移送) counts for the body; a transfer decided and not sent by its day is
    应移未移 (transfer_not_made); a missing receipt or outcome is the recipient organ's, no fact."""
    sent = _coord("transfer.sent", {"transfer_id": "YS-1", "recipient_kind": "public_security",
                                    "recipient_name": "常州市公安局武进分局", "source_kind": "case", "source_ref": None,
                                    "documents": [{"name": "涉嫌犯罪案件移送书", "sm3": "ab" * 32}],
                                    "sent_on": "2026-09-30", "late": False, "receipt_due": "2026-10-08"})
    [fact] = fm.transfer_sent(sent, FakeLookup())
    assert (fact.kind, fact.on, fact.ref, fact.unique) == ("judicial_transfer", dt.date(2026, 9, 30), "YS-1", True)
    overdue = {"transfer_id": "YS-2", "recipient_kind": "discipline_inspection", "due": "2026-10-13",
               "source_kind": "accountability"}
    [late] = fm.transfer_overdue(_coord("transfer.overdue", {**overdue, "stage": "send"}), FakeLookup())
    assert (late.kind, late.ref) == ("transfer_not_made", "YS-2")
    assert fm.transfer_overdue(_coord("transfer.overdue", {**overdue, "stage": "receipt"}), FakeLookup()) == []


def test_coord1_overdue_clue_and_repeat_inspection_are_facts_of_the_body():
    """COORD-1: the recipient's overdue clue (first escalation only) and a repeat / multi-body inspection."""
    esc = {"clue_id": "XS-1", "stage": "acknowledge", "to_region_code": "320400", "tier": "city",
           "due": "2026-10-08", "escalated_on": "2026-10-09"}
    [fact] = fm.clue_escalated(_coord("clue.escalated", {**esc, "level": 1}, body="320412-HBJ"), FakeLookup())
    assert (fact.kind, fact.ref, fact.on) == ("clue_overdue", "XS-1:acknowledge", dt.date(2026, 10, 9))
    assert fm.clue_escalated(_coord("clue.escalated", {**esc, "level": 2}), FakeLookup()) == []
    rec = {"result_id": "JC-2", "matter": "食品经营监督检查", "inspected_on": "2026-10-15", "outcome": "no_problem",
           "earlier_ids": ["JC-1"]}
    [rep] = fm.inspection_recorded(_coord("inspection.recorded", {**rec, "repeat": True, "multi_body": False}),
                                   FakeLookup())
    assert rep.kind == "repeat_inspection" and rep.attrs["repeat"] is True
    assert fm.inspection_recorded(_coord("inspection.recorded", {**rec, "repeat": False, "multi_body": False,
                                                                 "earlier_ids": []}), FakeLookup()) == []
