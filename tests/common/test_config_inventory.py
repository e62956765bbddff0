"""Issue 16, PLAT-6: every file in config/ is read by production code, and a value changed in it changes
behaviour. ``INVENTORY`` names, for each file, the tests that change a value away from the shipped one (each
parametrised with the shipped value as well, so it cannot pass by the changed value equalling a default) and
see the service behave differently. A new file under config/ without an entry fails here; so does an entry
naming a test that does not exist. ``NO_BEHAVIOUR_TEST`` would list what is still missing (nothing now).

federation.yaml is tested here: the broker definitions ``zhifa broker-definitions`` generates
(services/common/brokerdefs.generate, what a city's RabbitMQ is configured with) bind the upward buffer to the
file's event types."""
from __future__ import annotations

import re
import shutil

import pytest

from services.common import brokerdefs, federation, settings
from tests.config_support import spoil

ROOT = settings.ROOT
CONFIG = ROOT / "config"

INVENTORY = {
    "attachments.yaml": ["tests/gateway/test_config_behaviour.py::"
                         "test_issue16_attachments_yaml_is_what_the_portal_accepts_and_offers"],
    "federation.yaml": ["tests/common/test_config_inventory.py::"
                        "test_issue16_federation_yaml_is_what_the_city_broker_sends_upward"],
    "periods.yaml": ["tests/complaints/test_config_behaviour.py::"
                     "test_issue16_periods_yaml_sets_the_acknowledgement_deadline"],
    "complaints/acceptance.yaml": ["tests/complaints/test_config_behaviour.py::"
                                   "test_issue16_acceptance_yaml_decides_whether_the_facts_are_concrete"],
    "complaints/channels.yaml": ["tests/complaints/test_config_behaviour.py::"
                                 "test_issue16_channels_yaml_is_what_the_portal_publishes"],
    "complaints/deadlines.yaml": ["tests/complaints/test_config_files.py::"
                                  "test_cmp9_issue16_yellow_warning_follows_deadlines_yaml",
                                  "tests/complaints/test_config_files.py::"
                                  "test_cmp9_issue16_escalation_step_follows_deadlines_yaml"],
    "complaints/duplicates.yaml": ["tests/complaints/test_config_behaviour.py::"
                                   "test_issue16_duplicates_yaml_decides_which_complaint_is_a_duplicate"],
    "complaints/routing.yaml": ["tests/complaints/test_config_behaviour.py::"
                                "test_issue16_routing_yaml_is_the_route_a_handler_is_shown"],
    "disclosure/conclusion_types.yaml": ["tests/disclosure/test_config_behaviour.py::"
                                         "test_issue16_conclusion_types_yaml_names_the_published_conclusion_type"],
    "disclosure/random_inspection.yaml": ["tests/disclosure/test_config_behaviour.py::"
                                          "test_issue16_random_inspection_yaml_sets_the_inspectors_a_draw_needs"],
    "disclosure/redaction.yaml": ["tests/disclosure/test_config_behaviour.py::"
                                  "test_issue16_redaction_yaml_masks_the_published_phone_number"],
    "disclosure/service.yaml": ["tests/disclosure/test_config_behaviour.py::"
                                "test_issue16_service_yaml_sets_the_day_annual_reports_are_generated"],
    "evaluation/evaluators.yaml": ["tests/evaluation/test_config_behaviour.py::"
                                   "test_issue16_evaluators_yaml_weighs_a_dual_managed_bodys_two_scores"],
    "evaluation/indicators.yaml": ["tests/evaluation/test_config_behaviour.py::"
                                   "test_issue16_indicators_yaml_sets_the_evidence_a_grade_needs"],
    "evaluation/rules.yaml": ["tests/evaluation/test_config_behaviour.py::"
                              "test_issue16_rules_yaml_decides_which_fines_are_just_below_the_review_threshold"],
    "evaluation/supervision.yaml": ["tests/evaluation/test_config_behaviour.py::"
                                    "test_issue16_supervision_yaml_sets_a_supervision_items_period"],
    "gateway/limits.yaml": ["tests/gateway/test_config_behaviour.py::"
                            "test_issue16_limits_yaml_is_the_limit_the_gateway_enforces"],
    "records/completeness.yaml": ["tests/records/test_config_behaviour.py::"
                                  "test_issue16_completeness_yaml_item_added_is_a_gap_found"],
    # retention_days=0 in a file the test writes → erased; the shipped 30 years → refused (integration)
    "records/case_file_review.yaml": ["tests/records/test_case_file_review.py::"
                                      "test_rec7_config_file_criteria_change_the_score_sheet"],
    "records/retention.yaml": ["tests/records/test_records_service.py::"
                               "test_rec8_personal_data_erased_after_retention_and_every_proof_still_verifies",
                               "tests/records/test_records_service.py::test_rec8_erasure_refused_while_retention_runs"],
    "review/benchmarks.yaml": ["tests/review/test_config_behaviour.py::"
                               "test_issue16_benchmarks_yaml_is_the_discretion_benchmark_a_reviewer_sees"],
    "review/drafts.yaml": ["tests/review/test_config_behaviour.py::"
                           "test_issue16_drafts_yaml_is_the_draft_decision_document_an_officer_gets"],
    "review/catalogue.yaml": ["tests/review/test_config_behaviour.py::"
                              "test_issue16_catalogue_yaml_decides_which_fine_needs_legal_review"],
    "review/checklist.yaml": ["tests/review/test_config_behaviour.py::"
                              "test_issue16_checklist_yaml_sets_how_many_certified_officers_a_case_needs"],
    "review/review.yaml": ["tests/review/test_config_behaviour.py::"
                           "test_issue16_review_yaml_sets_when_a_task_turns_yellow"],
    # config/calendar/<year>.yaml override files (none shipped; config/calendar/README.md says how): a schedule
    # dropped in moves the stored running deadlines of each service (PLAT-6)
    "calendar/<year>.yaml": ["tests/review/test_calendar_recompute.py::"
                             "test_plat6_a_new_schedule_moves_a_pending_review_tasks_due_day_with_history",
                             "tests/evaluation/test_calendar_recompute.py::"
                             "test_plat6_a_new_schedule_moves_an_open_supervision_items_deadline_with_history",
                             "tests/complaints/test_calendar_recompute.py::"
                             "test_plat6_a_new_schedule_moves_an_open_complaints_stored_deadline_with_history",
                             "tests/disclosure/test_calendar_recompute.py::"
                             "test_plat6_a_new_schedule_moves_a_pending_publication_deadline_with_history"],
}
# files whose behaviour-change test is still to be written (issue 16): keep this list short and true
NO_BEHAVIOUR_TEST: set[str] = set()


def _config_files() -> set[str]:
    found = {str(p.relative_to(CONFIG)) for p in CONFIG.rglob("*.yaml")}
    return {("calendar/<year>.yaml" if name.startswith("calendar/") else name) for name in found} | {
        "calendar/<year>.yaml"}


def test_issue16_every_config_file_has_a_behaviour_test_or_is_listed_as_missing():
    assert set(INVENTORY) == _config_files(), "a file in config/ without an inventory entry (or a stale entry)"
    assert {name for name, tests in INVENTORY.items() if not tests} == NO_BEHAVIOUR_TEST
    for name, tests in INVENTORY.items():
        for node in tests:
            path, test = node.split("::")
            source = (ROOT / path).read_text(encoding="utf-8")
            assert re.search(rf"^def {re.escape(test)}\(", source, re.M), f"{name}: {node} does not exist"


@pytest.mark.parametrize("dropped", [None, "complaint.rated"])
def test_issue16_federation_yaml_is_what_the_city_broker_sends_upward(tmp_path, monkeypatch, dropped):
    """federation.yaml ``upward`` (PLAT-1): the city's upward buffer is bound to exactly the file's event types —
    an event type taken out of the file is no longer sent to the province."""
    path = shutil.copy(CONFIG / "federation.yaml", tmp_path / "federation.yaml")
    if dropped:
        kept = [t for t in federation.load_links(path)["upward"]["complaints"] if t != dropped]
        spoil(path, ("upward", "complaints"), kept)
    monkeypatch.setattr(federation, "CONFIG", path)
    data = brokerdefs.generate("city", "320400", "常州市")
    bound = {b["routing_key"] for b in data["bindings"]
             if b["destination"] == federation.UPWARD_QUEUE and b["source"] == "complaints.events"}
    assert "complaint.registered" in bound
    assert ("complaint.rated" in bound) is (dropped is None), bound
