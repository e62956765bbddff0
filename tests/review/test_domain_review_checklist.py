"""Review checklist pre-checks (REV-3, PLAT-3, PLAT-4, COORD-3) and assistance (REV-8)."""
from __future__ import annotations

import datetime as dt
import textwrap
from decimal import Decimal

import pytest
import yaml

from services.review.domain import (CHECKS, BenchmarkError, CertificateEvent, ChecklistConfigError, Outcome,
                                    PowerEntry, Proposal, benchmark_advice, certificate_status_at,
                                    check_crime_transfer, check_documents_complete, check_officers_qualified,
                                    check_procedure, check_within_authority, parse_benchmarks, parse_checklist_config,
                                    run_prechecks, transfer_suggested)
from services.review.configuration import load_benchmarks, load_checklist_config

TZ = dt.timezone(dt.timedelta(hours=8))


def at(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=TZ)


def proposal(**kw) -> Proposal:
    base = dict(case_id="C-1", version=1, body_id="B1", region_code="330106", action_type="penalty",
                matter_code="M-001", field="market_regulation", parties=({"party_kind": "natural", "name": "张三"},),
                officer_ids=("O1", "O2"), proposed_at=at(2026, 3, 10))
    base.update(kw)
    return Proposal(**base)


# O1's certificate C1 is suspended (暂扣) from 2026-03-01 09:00 to 2026-03-20 09:00.
HISTORY = [
    ("C1", "O1", "valid", at(2025, 1, 1, 0)),
    ("C1", "O1", "suspended", at(2026, 3, 1, 9)),
    ("C1", "O1", "valid", at(2026, 3, 20, 9)),
    ("C2", "O2", "valid", at(2024, 6, 1, 0)),
    ("C4", "O4", "valid", at(2024, 6, 1, 0)),
    ("C4", "O4", "withdrawn", at(2025, 6, 1, 0)),
    ("C5", "O4", "valid", at(2025, 9, 1, 0)),
]


@pytest.mark.parametrize("when,status", [
    (at(2026, 2, 28), "valid"),
    (at(2026, 3, 1, 8, 59), "valid"),
    (at(2026, 3, 1, 9, 0), "suspended"),     # effective_from is inclusive
    (at(2026, 3, 10), "suspended"),
    (at(2026, 3, 20, 9, 0), "valid"),
    (at(2026, 3, 25), "valid"),
    (at(2024, 12, 31), None),                # before the certificate was issued
])
def test_plat3_certificate_status_at_time(when, status):
    assert certificate_status_at("O1", [CertificateEvent(*e) for e in HISTORY], when)[0] == status


def test_plat3_rev3_suspended_certificate_at_time_of_action_fails():
    result = check_officers_qualified(["O1", "O2"], HISTORY, at(2026, 3, 10))
    assert result.code == "officers_qualified" and result.title == "执法人员具备执法资格"
    assert result.outcome is Outcome.FAIL and result.automatic
    assert result.finding == ("执法人员O1在2026-03-10 10:00执法证件（证号C1）处于暂扣状态，不得从事执法活动；"
                              "持有有效执法证件的执法人员为1名，少于2名，无有效证件人员不得单独执法")


@pytest.mark.parametrize("when", [at(2026, 2, 28), at(2026, 3, 25)])
def test_plat3_same_officers_pass_before_and_after_suspension(when):
    result = check_officers_qualified(["O1", "O2"], HISTORY, when)
    assert result.outcome is Outcome.PASS
    assert result.finding == f"执法人员O1、O2在执法时（{when:%Y-%m-%d %H:%M}）均持有有效执法证件"


def test_plat3_any_action_time_inside_suspension_fails():
    result = check_officers_qualified(["O1", "O2"], HISTORY, [at(2026, 2, 28), at(2026, 3, 5)])
    assert result.outcome is Outcome.FAIL
    assert result.finding.startswith("执法人员O1在2026-03-05 10:00执法证件（证号C1）处于暂扣状态")


def test_plat3_one_certified_officer_may_not_enforce_alone():
    result = check_officers_qualified(["O2"], HISTORY, at(2026, 3, 10))
    assert result.outcome is Outcome.FAIL
    assert result.finding == "持有有效执法证件的执法人员为1名，少于2名，无有效证件人员不得单独执法"


def test_plat3_officer_without_certificate_and_new_certificate_after_withdrawal():
    result = check_officers_qualified(["O2", "O3"], HISTORY, at(2026, 3, 10))
    assert result.outcome is Outcome.FAIL
    assert result.finding.startswith("执法人员O3在2026-03-10 10:00未持有执法证件，不得从事执法活动")
    # O4's C4 was withdrawn (收回) but C5 is valid → qualified; during the gap, not.
    assert check_officers_qualified(["O2", "O4"], HISTORY, at(2026, 3, 10)).outcome is Outcome.PASS
    gap = check_officers_qualified(["O2", "O4"], HISTORY, at(2025, 7, 1))
    assert gap.finding.startswith("执法人员O4在2025-07-01 10:00执法证件（证号C4）处于收回状态")


def test_plat3_expired_certificate_fails():
    history = [CertificateEvent("C9", "O9", "valid", at(2020, 1, 1), valid_until=dt.date(2025, 12, 31)),
               CertificateEvent("C2", "O2", "valid", at(2020, 1, 1))]
    result = check_officers_qualified(["O9", "O2"], history, at(2026, 1, 1))
    assert result.finding.startswith("执法人员O9在2026-01-01 10:00执法证件（证号C9）处于已超过有效期状态")
    assert check_officers_qualified(["O9", "O2"], history, at(2025, 12, 31, 23)).outcome is Outcome.PASS


POWERS = [
    PowerEntry("B1", "M-001", "penalty", dt.date(2024, 1, 1)),
    PowerEntry("B1", "M-002", "inspection", dt.date(2024, 1, 1)),
    PowerEntry("B1", "M-003", "penalty", dt.date(2024, 1, 1), dt.date(2025, 12, 31)),
    PowerEntry("B2", "M-004", "penalty", dt.date(2024, 1, 1)),
]


@pytest.mark.parametrize("matter,action,outcome,finding", [
    ("M-001", "penalty", Outcome.PASS, "执法事项M-001（行政处罚）在本机关权责清单内，2026-03-10有效"),
    ("M-002", "penalty", Outcome.FAIL, "权责清单中执法事项M-002的行为类别为行政检查，不含行政处罚，可能超越法定权限"),
    ("M-003", "penalty", Outcome.FAIL, "执法事项M-003（行政处罚）在2026-03-10不在本机关权责清单有效期内"),
    ("M-004", "penalty", Outcome.FAIL, "本机关权责清单中无执法事项M-004，可能超越法定权限"),
])
def test_rev3_plat4_matter_in_powers_list(matter, action, outcome, finding):
    result = check_within_authority("B1", matter, action, POWERS, dt.date(2026, 3, 10))
    assert (result.code, result.outcome, result.finding) == ("within_authority", outcome, finding)


@pytest.mark.parametrize("requested,held,required,outcome,finding", [
    (True, False, False, Outcome.FAIL, "当事人申请听证，但未举行听证"),
    (False, False, True, Outcome.FAIL, "依法应当组织听证，但未举行听证"),
    (True, True, False, Outcome.NEEDS_REVIEWER, "听证程序已核验：已举行听证；其他程序事项待审核人员审查"),
    (False, False, False, Outcome.NEEDS_REVIEWER,
     "听证程序已核验：当事人未申请听证，且无须依职权组织听证；其他程序事项待审核人员审查"),
])
def test_rev3_hearing_held_when_requested_or_required(requested, held, required, outcome, finding):
    result = check_procedure(requested, held, required)
    assert (result.outcome, result.finding) == (outcome, finding)


def test_rev3_record_gaps_fail_documents_check():
    result = check_documents_complete(["no_hearing_record", "no_service_receipt"],
                                      {"no_hearing_record": "听证笔录"})
    assert result.outcome is Outcome.FAIL
    assert result.finding == "执法记录不完整，缺少：听证笔录、no_service_receipt"
    assert check_documents_complete([]).outcome is Outcome.NEEDS_REVIEWER


@pytest.fixture(scope="module")
def config():
    return load_checklist_config()


@pytest.mark.parametrize("field,confiscation,prompt,finding", [
    ("market_regulation", Decimal("50000"), True,
     "移送提示：没收金额50000元达到移送参考标准50000元（参照生产、销售伪劣产品罪立案追诉标准（销售金额五万元以上）），"
     "请审查是否涉嫌犯罪、需移送司法机关"),
    ("market_regulation", Decimal("49999.99"), False,
     "没收金额49999.99元，未达到移送参考标准50000元；其他涉嫌犯罪情形待审核人员审查"),
    ("ecology_environment", Decimal("100000"), False,
     "没收金额100000元，未达到移送参考标准300000元；其他涉嫌犯罪情形待审核人员审查"),
    ("culture_tourism", Decimal("10000"), True,   # not configured → default threshold 10000
     "移送提示：没收金额10000元达到移送参考标准10000元（参照非法经营罪立案追诉标准（违法所得数额一万元以上）），"
     "请审查是否涉嫌犯罪、需移送司法机关"),
    ("emergency_management", Decimal("5000000"), False, "未配置该领域的移送参考标准，待审核人员审查是否涉嫌犯罪"),
    ("market_regulation", None, False, "本案无没收金额，未达到移送参考标准50000元；其他涉嫌犯罪情形待审核人员审查"),
])
def test_coord3_crime_transfer_threshold_per_field(config, field, confiscation, prompt, finding):
    result = check_crime_transfer(proposal(field=field, confiscation_amount=confiscation), config)
    assert result.outcome is Outcome.NEEDS_REVIEWER
    assert transfer_suggested(result) is prompt
    assert result.finding == finding


def test_rev3_run_prechecks_yields_the_eight_checks_in_order(config):
    results = run_prechecks(proposal(hearing_requested=True), certificates=HISTORY, powers=POWERS,
                            record_gaps=["no_hearing_record"], config=config, action_times=[at(2026, 3, 25)])
    assert [r.code for r in results] == list(CHECKS)
    assert [r.title for r in results] == ["执法主体合法", "执法人员具备执法资格", "执法程序合法", "事实清楚、证据合法充分",
                                          "适用法律正确、裁量基准适当", "未超越法定权限", "文书完备规范", "涉嫌犯罪移送"]
    assert [r.outcome.value for r in results] == ["needs_reviewer", "pass", "fail", "needs_reviewer",
                                                  "needs_reviewer", "pass", "fail", "needs_reviewer"]
    assert [r.automatic for r in results] == [False, True, True, False, False, True, True, True]


def test_rev3_run_prechecks_defaults_to_proposed_at_and_body_registry(config):
    results = run_prechecks(proposal(), certificates=HISTORY, powers=POWERS, config=config, body_registered=False)
    assert results[0].outcome is Outcome.FAIL and results[0].automatic
    assert results[1].outcome is Outcome.FAIL  # proposed_at 2026-03-10 falls in O1's suspension


@pytest.mark.parametrize("data,message", [
    ({"min_certified_officers": 0}, "min_certified_officers: Must be greater than or equal to 1."),
    ({"criminal_transfer": {"default": {"basis": "fine", "threshold": -1}}},
     "criminal_transfer.default.threshold: expected a positive number of yuan, got -1"),
    ({"criminal_transfer": {"fields": {"x": {"basis": "gross", "threshold": 1}}}},
     "criminal_transfer.fields.x.basis: Must be one of: fine, confiscation, total."),
    ({"criminal_transfer": {"default": {"basis": "fine", "threshold": 1, "notes": ""}}},
     "criminal_transfer.default.notes: Unknown field."),
    ({"transfer": {}}, "transfer: Unknown field."),
])
def test_coord3_checklist_config_validation(data, message):
    with pytest.raises(ChecklistConfigError) as err:
        parse_checklist_config(data)
    assert message in str(err.value)


# --- REV-8 assistance ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def benchmarks():
    return load_benchmarks()


def test_rev8_fine_within_benchmark_lists_articles(benchmarks):
    advice = benchmark_advice(proposal(matter_code="SAMPLE-DQ-099-1", field="ecology_environment",
                                       parties=({"party_kind": "legal", "name": "甲公司"},),
                                       fine_amount=Decimal("200000")), benchmarks)
    assert advice.found and advice.within_statutory and advice.within_benchmark
    assert advice.matching_circumstances == ("lighter",)
    assert [a.citation for a in advice.articles] == ["《中华人民共和国大气污染防治法》第十九条",
                                                     "《中华人民共和国大气污染防治法》第九十九条第一项"]
    assert advice.message == ("适用条款：《中华人民共和国大气污染防治法》第十九条（违反条款）；"
                              "《中华人民共和国大气污染防治法》第九十九条第一项（处罚依据）；"
                              "拟处罚款200000元，法定幅度100000元至1000000元；属于从轻处罚基准范围")


def test_rev8_fine_outside_chosen_circumstance_and_statutory_range(benchmarks):
    p = proposal(matter_code="SAMPLE-SP-126-3", fine_amount=Decimal("40000"))
    advice = benchmark_advice(p, benchmarks, circumstance="lighter")
    assert (advice.within_statutory, advice.within_benchmark) == (True, False)
    assert advice.message.endswith("从轻处罚基准5000元至18500元，不在基准范围内，应说明理由")
    over = benchmark_advice(proposal(matter_code="SAMPLE-SP-126-3", fine_amount=Decimal("60000")), benchmarks)
    assert (over.within_statutory, over.within_benchmark) == (False, False)
    assert "拟处罚款60000元，法定幅度5000元至50000元，超出法定幅度；不在任何裁量基准范围内" in over.message
    boundary = benchmark_advice(proposal(matter_code="SAMPLE-SP-126-3", fine_amount=Decimal("18500")), benchmarks)
    assert boundary.matching_circumstances == ("lighter", "ordinary")


def test_rev8_unknown_matter_and_benchmark_hint_in_checklist(benchmarks, config):
    advice = benchmark_advice(proposal(matter_code="M-NONE", fine_amount=Decimal("1")), benchmarks)
    assert not advice.found
    assert advice.message == "执法事项M-NONE未配置裁量基准，请审核人员对照法律规定审查"
    results = run_prechecks(proposal(), certificates=HISTORY, powers=POWERS, config=config, benchmark=advice,
                            action_times=[at(2026, 3, 25)])
    assert results[4].finding == advice.message and results[4].automatic


def test_rev8_benchmark_validation():
    bad = yaml.safe_load(textwrap.dedent("""
        matters:
          M1:
            name: x
            articles: [{citation: 某法第一条}]
            statutory_range: {min: 1000, max: 5000}
            circumstances:
              - {code: heavier, name: 从重处罚, min: 4000, max: 6000}
    """))
    with pytest.raises(BenchmarkError,
                       match="matters.M1.circumstances.0: range 4000–6000 lies outside the statutory range 1000–5000"):
        parse_benchmarks(bad)
