"""REC-1/2/3/5, PLAT-5: case-file completeness and mandatory full-process audio-visual records."""
from __future__ import annotations

import pytest
import yaml

from services.common.configfile import ConfigFileError
from services.records.domain.completeness import (DEFAULT_COMPLETENESS_FILE, GapKind, Severity,
                                                  find_gaps, load_rules)
from services.records.domain.entries import Stage

PLAT5 = {"penalty", "permit", "coercive", "inspection", "levy", "requisition", "benefit", "confirmation",
         "adjudication", "compensation", "reward"}

COMPLETE_PENALTY = [
    ("filing_approval", "initiation"), ("investigation_record", "investigation"),
    ("investigation_report", "investigation"), ("prior_notice", "decision"),
    ("collective_discussion_record", "decision"), ("internal_approval", "decision"),
    ("penalty_decision", "decision"), ("proof_of_service", "service_execution"),
    ("payment_record", "service_execution"), ("closure_report", "archiving"),
]


def test_plat5_every_action_type_has_rules_and_names():
    rules = load_rules()
    assert set(rules.action_types) == PLAT5
    assert rules.action_types["penalty"][0] == "行政处罚"
    assert rules.document_types["legal_review_opinion"] == "法制审核意见书"
    assert rules.document_types["proof_of_service"] == "送达回证"


def test_rec2_complete_ordinary_penalty_has_no_gaps():
    assert find_gaps("penalty", {}, COMPLETE_PENALTY) == []


def test_rec2_major_penalty_missing_legal_review_opinion():
    gaps = find_gaps("penalty", {"is_major": True}, COMPLETE_PENALTY)
    assert [(g.code, g.description, g.stage, g.severity, g.kind) for g in gaps] == [
        ("legal_review_opinion", "缺少法制审核意见书（审核决定环节）", Stage.DECISION, Severity.SERIOUS,
         GapKind.MISSING)]


def test_rec2_hearing_and_statement_requested_penalty():
    recs = COMPLETE_PENALTY + [("hearing_record", "decision")]
    gaps = find_gaps("penalty", {"hearing_requested": True, "statement_requested": True}, recs)
    assert [g.code for g in gaps] == ["statement_defence_record", "hearing_notice", "hearing_report",
                                      "av_expected:hearing"]
    assert [g.severity for g in gaps] == [Severity.SERIOUS, Severity.GENERAL, Severity.GENERAL, Severity.ADVISORY]


def test_rec5_record_filed_in_wrong_stage():
    recs = [r for r in COMPLETE_PENALTY if r[0] != "proof_of_service"] + [("proof_of_service", "decision")]
    gaps = find_gaps("penalty", {}, recs)
    assert [(g.code, g.kind, g.severity, g.description) for g in gaps] == [
        ("proof_of_service", GapKind.WRONG_STAGE, Severity.GENERAL,
         "送达回证应记录于「送达执行」环节，实际记录于「审核决定」环节")]


SEIZURE_FILE = [
    ("measure_approval", "initiation"), ("onsite_record", "investigation"),
    ("coercive_measure_decision", "decision"), ("property_list", "service_execution"),
    ("proof_of_service", "service_execution"), ("measure_handling_decision", "service_execution"),
    ("closure_report", "archiving"),
]


def test_rec3_seizure_without_audio_visual():
    gaps = find_gaps("coercive", {"measures": ["seizure"]}, SEIZURE_FILE + [("photo", "service_execution")])
    assert [(g.code, g.kind, g.severity, g.stage) for g in gaps] == [
        ("av_full_process:seizure", GapKind.AV_MISSING, Severity.SERIOUS, Stage.INVESTIGATION)]
    assert gaps[0].description == "查封场所、设施或者财物未进行全程音像记录（须有执法记录仪、视频监控、录像）"


def test_rec3_seizure_with_body_camera_is_complete():
    assert find_gaps("coercive", {"measures": ["seizure"]},
                     SEIZURE_FILE + [("body_worn_camera", "service_execution")]) == []
    # footage that covers another measure does not count
    gaps = find_gaps("coercive", {"measures": ["seizure"]},
                     SEIZURE_FILE + [{"record_kind": "video", "stage": "service_execution", "covers": "forced_demolition"}])
    assert [g.code for g in gaps] == ["av_full_process:seizure"]


def test_rec3_forced_demolition_needs_notice_execution_decision_and_video():
    recs = [("measure_approval", "initiation"), ("onsite_record", "investigation"),
            ("coercive_measure_decision", "decision"), ("proof_of_service", "service_execution"),
            ("closure_report", "archiving"), ("video", "investigation")]
    gaps = find_gaps("coercive", {"measures": ["forced_demolition"]}, recs)
    assert [g.code for g in gaps] == ["reminder_notice", "coercive_execution_decision",
                                      "demolition_public_notice", "av_full_process:forced_demolition"]


def test_rec3_advisory_audio_visual_for_lodging_service_and_onsite_inspection():
    recs = [("inspection_task", "initiation"), ("onsite_inspection_record", "investigation"),
            ("inspection_result", "decision"), ("archive_record", "archiving")]
    gaps = find_gaps("inspection", {"onsite": True, "service_methods": ["lodging"]}, recs)
    assert [(g.code, g.severity) for g in gaps] == [("av_expected:onsite", Severity.ADVISORY),
                                                    ("av_expected:service_lodging", Severity.ADVISORY)]


def test_rec2_find_gaps_rejects_unknown_inputs():
    with pytest.raises(ValueError):
        find_gaps("tax", {}, [])
    with pytest.raises(ValueError):
        find_gaps("penalty", {"measures": ["teleport"]}, [])
    with pytest.raises(ValueError):
        find_gaps("penalty", {"is_urgent": True}, [])
    with pytest.raises(ValueError):
        find_gaps("penalty", {}, [("filing_approval", "limbo")])


def test_rec2_yaml_validation_errors_are_clear(tmp_path):
    raw = yaml.safe_load(DEFAULT_COMPLETENESS_FILE.read_text(encoding="utf-8"))
    raw["action_types"]["penalty"]["items"][0]["stage"] = "judgement"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigFileError, match=r"action_types\.penalty\.items\.0\.stage: Must be one of: initiation"):
        load_rules(bad)
    raw = yaml.safe_load(DEFAULT_COMPLETENESS_FILE.read_text(encoding="utf-8"))
    raw["action_types"]["permit"]["items"][0]["condition"] = "when_full_moon"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigFileError,
                       match=r"action_types\.permit\.items\.0\.condition: unknown condition 'when_full_moon'"):
        load_rules(bad)
    raw = yaml.safe_load(DEFAULT_COMPLETENESS_FILE.read_text(encoding="utf-8"))
    raw["action_types"]["permit"]["items"][0]["satisfied_by"] = ["no_such_document"]
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigFileError,
                       match=r"action_types\.permit\.items\.0\.satisfied_by: unknown .*no_such_document"):
        load_rules(bad)


def test_rec2_rules_editable_without_release(tmp_path):
    raw = yaml.safe_load(DEFAULT_COMPLETENESS_FILE.read_text(encoding="utf-8"))
    raw["action_types"]["penalty"]["items"].append(
        {"code": "expert_report", "stage": "investigation", "condition": "when_major", "severity": "general"})
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    gaps = find_gaps("penalty", {"is_major": True}, COMPLETE_PENALTY + [("legal_review_opinion", "decision")],
                     rules=load_rules(path))
    assert [(g.code, g.description) for g in gaps] == [("expert_report", "缺少专家论证报告（调查取证环节）")]
