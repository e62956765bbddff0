"""Acceptance review, not-accepted decisions and routing (CMP-3, CMP-4, CMP-6, CMP-8)."""
from __future__ import annotations

import dataclasses

import pytest

from services.complaints.domain import (BodyKind, BodyRef, Complainant, ComplaintFlags, ConfigError,
                                        ReasonRequired, RouteTarget, RoutingError, assess, complained_bodies,
                                        decide_not_accepted, load_acceptance_rules, load_routing_rules, route)
from services.complaints.domain.config import CONFIG_DIR
from services.complaints.domain.routing import RouteRule, common_ancestor
from tests.complaints.test_domain_builders import complaint, subject

RULES = load_acceptance_rules()
ROUTING = load_routing_rules()
MSG = RULES.messages


# --- acceptance table (CMP-8) -------------------------------------------------------------------

ACCEPTANCE_TABLE = [
    # id, overrides, acceptable, reasons
    ("ok", {}, True, ()),
    ("no subject at all", dict(subject=None), False, (MSG["no_subject"],)),
    ("subject without body or officer", dict(subject=subject(body_id="", body_region_code="", officer_ids=())),
     False, (MSG["no_subject"],)),
    ("officer only is identifiable", dict(subject=subject(body_id="", body_region_code="")), True, ()),
    ("no facts", dict(facts=""), False, (MSG["no_facts"],)),
    ("facts too thin", dict(facts="被罚款了！！！"), False, (MSG["no_facts"],)),
    ("no request", dict(request="？？"), False, (MSG["no_request"],)),
    ("criminal case", dict(categories=("criminal",)), False, (RULES.category("criminal").reason,)),
    ("dispute between citizens", dict(categories=("civil_dispute",)), False,
     (RULES.category("civil_dispute").reason,)),
    ("matter for the courts", dict(categories=("court_matter",)), False, (RULES.category("court_matter").reason,)),
    ("under litigation", dict(flags=ComplaintFlags(under_reconsideration_or_litigation=True)), False,
     (MSG["under_reconsideration_or_litigation"],)),
    ("private enterprise is accepted and tagged", dict(flags=ComplaintFlags(against_private_enterprise=True)),
     True, ()),
    ("several grounds at once", dict(request="", facts="", subject=None), False,
     (MSG["no_subject"], MSG["no_request"], MSG["no_facts"])),
]


@pytest.mark.parametrize("name, over, acceptable, reasons", ACCEPTANCE_TABLE, ids=[r[0] for r in ACCEPTANCE_TABLE])
def test_cmp8_acceptance_table(name, over, acceptable, reasons):
    a = assess(complaint(**over), RULES, ROUTING)
    assert a.acceptable is acceptable
    assert a.reasons == reasons


def test_cmp8_litigation_reason_text_is_exact():
    a = assess(complaint(flags=ComplaintFlags(under_reconsideration_or_litigation=True)), RULES, ROUTING)
    assert a.reason_text == "该事项已申请行政复议或提起行政诉讼，不再作为投诉举报受理，请通过复议、诉讼程序依法主张权利"


def test_cmp8_ok_complaint_gets_route_and_no_warnings():
    a = assess(complaint(), RULES, ROUTING)
    assert a.suggested_route.target_kind is RouteTarget.GOVERNMENT_LEGAL_OFFICE
    assert a.suggested_route.target_region_code == "320412"
    assert a.warnings == () and a.tags == () and a.out_of_scope == ()


def test_cmp6_private_enterprise_tagged():
    a = assess(complaint(flags=ComplaintFlags(against_private_enterprise=True)), RULES, ROUTING)
    assert a.tags == ("private_enterprise",)


def test_cmp8_keywords_only_warn_never_refuse():
    a = assess(complaint(facts="执法人员以邻居举报为由，未出示执法证件即进入我的门店检查并当场罚款。"), RULES, ROUTING)
    assert a.acceptable is True
    assert a.warnings == ("内容涉及“邻居”，可能属于公民、法人或者其他组织之间的民事纠纷，请核实是否属于受理范围",)


def test_cmp8_officer_only_warns_that_body_must_be_found():
    a = assess(complaint(subject=subject(body_id="", body_region_code="")), RULES, ROUTING)
    assert a.suggested_route is None
    assert a.warnings == ("须先查明被投诉执法人员所在的执法主体，才能确定办理机关",)


def test_cmp3_no_contact_and_bad_id_are_warnings():
    a = assess(complaint(complainant=Complainant("匿名", None, "320412199001011232", None)), RULES, ROUTING)
    assert a.acceptable is True
    assert a.warnings == ("投诉人未留联系电话或通信地址，受理情况和办理结果可能无法告知",
                          "投诉人身份证号码有误：居民身份证号码校验位错误")


def test_cmp8_complaint_filed_with_wrong_tier_is_flagged_for_transfer():
    c = complaint(subject=subject(body_kind=BodyKind.COUNTY_GOVERNMENT, body_id="gov-320412"))
    a = assess(c, RULES, ROUTING)
    assert a.suggested_route.target_region_code == "320400"
    assert a.warnings[-1].startswith("本投诉应转办：投诉涉及县级人民政府的执法行为")


# --- not accepted needs a reason (CMP-4) ---------------------------------------------------------

@pytest.mark.parametrize("reason", ["", "   ", None, "\n\t"])
def test_cmp4_not_accepted_without_reason_is_refused(reason):
    with pytest.raises(ReasonRequired, match="不予受理必须说明理由"):
        decide_not_accepted(reason)


def test_cmp4_not_accepted_keeps_reason():
    assert decide_not_accepted("  属于民事纠纷  ").reason == "属于民事纠纷"


# --- routing table (CMP-8) ----------------------------------------------------------------------

OFFICES = dataclasses.replace(ROUTING, legal_offices={"320412": "sfj-320412", "320400": "sfj-320400",
                                                      "320000": "sft-320000"})

ROUTING_TABLE = [
    # id, subject, rules, (kind, region, body_id)
    ("department → same-tier legal office",
     subject(), ROUTING, (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320412", None)),
    ("department, offices configured",
     subject(), OFFICES, (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320412", "sfj-320412")),
    ("city department → city legal office",
     subject(body_region_code="320400"), OFFICES, (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", "sfj-320400")),
    ("county government → city's legal office",
     subject(body_id="gov-320412", body_kind=BodyKind.COUNTY_GOVERNMENT, officer_ids=()), OFFICES,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", "sfj-320400")),
    ("two departments of one county → that county",
     subject(other_bodies=(BodyRef("body-320412-cg", "320412"),)), ROUTING,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320412", None)),
    ("departments of two counties → the city",
     subject(other_bodies=(BodyRef("body-320411-cg", "320411"),)), ROUTING,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", None)),
    ("county government and its department → the city",
     subject(other_bodies=(BodyRef("gov-320412", "320412", BodyKind.COUNTY_GOVERNMENT),)), ROUTING,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", None)),
    ("departments of two cities → the province",
     subject(other_bodies=(BodyRef("body-320506-cg", "320506"),)), ROUTING,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320000", None)),
    ("authorised organisation → competent department",
     subject(body_id="org-320412-sy", body_kind=BodyKind.AUTHORISED_ORG, competent_department_id="body-320412-zj"),
     ROUTING, (RouteTarget.COMPETENT_DEPARTMENT, "320412", "body-320412-zj")),
    ("entrusted organisation → legal office at the entrusting body's tier",
     subject(body_id="org-320412-wt", body_kind=BodyKind.ENTRUSTED_ORG, competent_department_id="body-320400-cg",
             competent_department_region_code="320400"), OFFICES,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", "sfj-320400")),
    ("officer's conduct → legal office of the officer's own body",
     subject(about_officer_conduct=True), ROUTING, (RouteTarget.BODY_LEGAL_OFFICE, "320412", "body-320412-scjg")),
    ("township body → county legal office (no legal office at township tier)",
     subject(body_id="town-320412001", body_region_code="320412001"), OFFICES,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320412", "sfj-320412")),
    ("the county 司法局 itself complained about → the city's",
     subject(body_id="sfj-320412"), OFFICES, (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320400", "sfj-320400")),
    ("the city 司法局 and a county 司法局 → province",
     subject(body_id="sfj-320412", other_bodies=(BodyRef("sfj-320400", "320400"),)), OFFICES,
     (RouteTarget.GOVERNMENT_LEGAL_OFFICE, "320000", "sft-320000")),
]


@pytest.mark.parametrize("name, subj, rules, expected", ROUTING_TABLE, ids=[r[0] for r in ROUTING_TABLE])
def test_cmp8_routing_table_never_to_complained_body(name, subj, rules, expected):
    r = route(subj, rules)
    assert (r.target_kind, r.target_region_code, r.target_body_id) == expected
    assert r.target_body_id not in complained_bodies(subj) or r.target_body_id is None
    assert r.description


def test_cmp8_route_descriptions_are_chinese_and_exact():
    assert route(subject(), ROUTING).description == \
        "投诉涉及行政执法部门的执法行为，由同级人民政府司法行政部门（地区代码320412）办理"
    assert route(subject(body_id="sfj-320412"), OFFICES).description == (
        "投诉涉及行政执法部门的执法行为，由同级人民政府司法行政部门（地区代码320400）办理"
        "（同级司法行政部门即被投诉主体，由上一级办理）")


@pytest.mark.parametrize("subj, message", [
    (None, "未明确被投诉的执法主体"),
    (subject(body_id="", body_region_code=""), "须先查明被投诉执法人员所在的执法主体"),
    (subject(body_kind=BodyKind.AUTHORISED_ORG), "未登记该组织的主管部门"),
    (subject(other_bodies=(BodyRef("body-110105-cg", "110105"),)), "分属不同省份"),
    (subject(body_id="gov-320000", body_kind=BodyKind.COUNTY_GOVERNMENT, body_region_code="320000"), "省级人民政府"),
])
def test_cmp8_unroutable_cases_raise(subj, message):
    with pytest.raises(RoutingError, match=message):
        route(subj, OFFICES)


def test_cmp8_misconfigured_route_to_complained_body_is_refused():
    bad = dataclasses.replace(ROUTING, rules={**ROUTING.rules, "department": RouteRule(
        "own_body_legal_office", description="由{body}办理")})
    with pytest.raises(RoutingError, match="违反回避要求"):
        route(subject(), bad)


def test_cmp8_common_ancestor():
    assert common_ancestor(["320412001", "320412"]) == "320412"
    assert common_ancestor(["320412", "320411"]) == "320400"
    assert common_ancestor(["320412", "320506"]) == "320000"
    assert common_ancestor(["320412", "110105"]) is None


def test_cmp8_entrusted_org_counts_its_entruster_as_complained():
    s = subject(body_id="org-1", body_kind=BodyKind.ENTRUSTED_ORG, competent_department_id="dept-9")
    assert complained_bodies(s) == {"org-1", "dept-9"}
    assert complained_bodies(subject(about_officer_conduct=True)) == frozenset()


# --- rule files ---------------------------------------------------------------------------------

def test_cmp8_rule_files_validate(tmp_path):
    bad = tmp_path / "routing.yaml"
    bad.write_text("rules:\n  department: {target: teleport, description: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.county_government: Missing data for required field."):
        load_routing_rules(bad)
    text = (CONFIG_DIR / "routing.yaml").read_text(encoding="utf-8")
    bad.write_text(text.replace("target: competent_department", "target: teleport"), encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.authorised_org.target: Must be one of"):
        load_routing_rules(bad)
    acc = tmp_path / "acceptance.yaml"
    acc.write_text("min_request_chars: 4\nmin_facts_chars: 10\nmessages: {no_subject: x}\nout_of_scope: []\n",
                   encoding="utf-8")
    with pytest.raises(ConfigError, match="messages.no_request"):
        load_acceptance_rules(acc)
    acc.write_text("- a list\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\(top level\): must be a mapping"):
        load_acceptance_rules(acc)
