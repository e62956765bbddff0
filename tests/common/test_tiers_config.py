"""The suite's tier and the origin check of events between tiers (PLAT-1, issue 23 (2), (5))."""
import pytest
from nameko import config

from services.common import settings, tiers
from services.common.events import parse_event
from tests.integration import events as ev

PROVINCE = {"ZHIFA_TIER": "province", "ZHIFA_SUITE_REGION": "320000", "ZHIFA_CITIES": "320400, 320200",
            "ZHIFA_LINK_USER_TEMPLATE": "zhifa-link-{city}"}
CITY = {"ZHIFA_TIER": "city", "ZHIFA_SUITE_REGION": "320400", "ZHIFA_CITIES": "",
        "ZHIFA_LINK_USER_TEMPLATE": "zhifa-link-{city}"}


def grade(region):
    return parse_event(ev.envelope("evaluation.grade_finalised", {
        "subject_kind": "body", "subject_id": f"{region}-SCJG", "year": 2025, "total": "80.00", "by_total": "合格",
        "grade": "合格", "reasons": [], "decided_by": "x"},
        body={"region_code": region, "body_id": f"{region}-SCJG", "system": "zhifa.evaluation"}))


def head(log_id, region):
    return parse_event(ev.envelope("record.tree_head_signed", {
        "tree_size": 1, "root_hash": "0" * 64, "timestamp": 1, "log_id": log_id, "algorithm": "ed25519",
        "signature": "00", "public_key": "00", "key_id": "0" * 64},
        body={"region_code": region, "body_id": "zhifa-records-log", "system": "zhifa.records"}))


def test_a_province_takes_an_upward_event_only_from_its_citys_link():
    with config.patch(PROVINCE):
        assert tiers.linked_cities() == ("320200", "320400")
        assert tiers.upward_refusal(grade("320412"), "zhifa-link-320400", {}, "zhifa-320000") == ("320400", None)
        city, reason = tiers.upward_refusal(grade("320202"), "zhifa-link-320400", {}, "zhifa-320000")
        assert city is None and "不属于该市" in reason
        assert tiers.upward_refusal(grade("320202"), "zhifa-link-320200", {}, "zhifa-320000")[0] == "320200"
        assert "records.320400" in tiers.upward_refusal(head("records.320200", "320400"), "zhifa-link-320400",
                                                        {}, "zhifa-320000")[1]
        for user in (None, "zhifa-320000", "dept-320400-scjg", "zhifa-link-320500"):
            assert "未经已登记的级联链路" in tiers.upward_refusal(grade("320412"), user, {}, "zhifa-320000")[1]
        # the suite's own retry copy names the link it came through; a forged header from a link is no use
        assert tiers.upward_refusal(grade("320412"), "zhifa-320000", {tiers.LINK_HEADER: "320400"},
                                    "zhifa-320000") == ("320400", None)
        assert tiers.upward_refusal(grade("320202"), "zhifa-link-320400", {tiers.LINK_HEADER: "320200"},
                                    "zhifa-320000")[0] is None


def test_a_city_takes_a_downward_event_only_from_its_own_link_and_no_upward_event():
    with config.patch(CITY):
        assert tiers.downward_refusal(grade("320412"), "zhifa-link-320400", {}, "zhifa-320400") == ("320400", None)
        assert "不属于本市" in tiers.downward_refusal(grade("320202"), "zhifa-link-320400", {}, "zhifa-320400")[1]
        assert "未经本市级联链路" in tiers.downward_refusal(grade("320412"), "zhifa-link-320200", {}, "zhifa-320400")[1]
        assert "不是省级" in tiers.upward_refusal(grade("320412"), "zhifa-link-320400", {}, "zhifa-320400")[1]
    with config.patch({**CITY, "ZHIFA_SUITE_REGION": ""}):
        assert "ZHIFA_SUITE_REGION" in tiers.downward_refusal(grade("320412"), "zhifa-link-320400", {}, "x")[1]


def test_tier_configuration_is_checked_and_says_who_judges_whom():
    with config.patch(PROVINCE):
        assert tiers.is_province() and tiers.suite_region() == "320000"
        assert not tiers.judged_here("320412") and tiers.city_judging("320412") == "320400"
        assert tiers.judged_here("320000") and tiers.judged_here("320500")   # its own, and an unlinked city
    with config.patch(CITY):
        assert tiers.judged_here("320412") and tiers.city_judging("320412") is None
    for bad in ({"ZHIFA_TIER": "county"}, {"ZHIFA_SUITE_REGION": "3204"}, {"ZHIFA_CITIES": "320412"}):
        with config.patch({**PROVINCE, **bad}), pytest.raises(settings.SettingError):
            tiers.tier(), tiers.suite_region(), tiers.linked_cities()
