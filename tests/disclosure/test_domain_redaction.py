"""DISC-4 redaction of published decisions (and DISC-3 content of the public entry)."""
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from services.common.identifiers import resident_id_check_char, uscc_check_char, validate_resident_id, validate_uscc
from services.disclosure.domain.model import ActionType, Decision, IdType, Party, PartyKind, Secrecy, decision_from_payload
from services.disclosure.domain.redaction import (
    Outcome, PersonalDataLeak, RedactionKind, assert_no_personal_data, find_personal_data, load_redaction_rules,
    mask_name, reduce_address, redact_decision, redact_text)

ID_A = "32010219850312123" + resident_id_check_char("32010219850312123")   # 3201021985031212 3 + check
ID_B = "11010519491231002" + resident_id_check_char("11010519491231002")   # check char X
ID_OLD = "320102850312123"  # 15-digit, born 1985-03-12
USCC = "91320102MA1W2X3Y4" + uscc_check_char("91320102MA1W2X3Y4")
DECISION_NO = "宁市监罚〔2026〕123号"

ZHANG = Party(PartyKind.NATURAL, "张三丰", IdType.RESIDENT_ID, ID_A, "13812345678",
              "江苏省南京市鼓楼区中山北路12号3栋201室")
OUYANG = Party(PartyKind.NATURAL, "欧阳娜娜", IdType.RESIDENT_ID, ID_B)
COMPANY = Party(PartyKind.LEGAL, "南京张三丰餐饮有限公司", IdType.USCC, USCC, "025-84561234",
                "南京市鼓楼区湖南路1号", is_private_enterprise=True)
PARTIES = (ZHANG, OUYANG, COMPANY)


def test_fixture_identifiers_are_valid():
    assert validate_resident_id(ID_A) is None and validate_resident_id(ID_B) is None
    assert ID_B.endswith("X")
    assert validate_uscc(USCC) is None


def decision(facts, parties=PARTIES, secrecy=Secrecy.NONE, conclusion="罚款50000元", **kw):
    return Decision(case_id="C-2026-001", decision_no=DECISION_NO, version=1, body_id="B-320100-SCJG",
                    body_name="南京市市场监督管理局", region_code="320100", action_type=ActionType.PENALTY,
                    category="未取得食品经营许可从事食品经营", parties=parties, facts=facts,
                    legal_basis="《中华人民共和国食品安全法》第一百二十二条第一款", conclusion=conclusion,
                    decided_at=dt.date(2026, 3, 10), fine_amount=Decimal("50000"), secrecy=secrecy, **kw)


# (case, free text in facts, expected public text)
TABLE = [
    ("party name", "经查，张三丰于2026年3月5日经营。", "经查，张某于2026年3月5日经营。"),
    ("compound surname", "欧阳娜娜承认违法事实。", "欧阳某承认违法事实。"),
    ("given name alone", "三丰称不知情。", "张某称不知情。"),
    ("field label 姓名：", "姓名：王五，性别：男。", "姓名：王某，性别：男。"),
    ("role label, person-only", "证人李四证实上述事实。", "证人李某证实上述事实。"),
    ("role label, 3-char name before 证实", "证人王建国证实。", "证人王某证实。"),
    ("officers' certificate numbers are public", "执法人员执法证号32010020230001、32010020230002。",
     "执法人员执法证号32010020230001、32010020230002。"),
    ("a resident ID after a public-number label is still masked", f"执法证号{ID_A}",
     f"执法证号3201**********{ID_A[-4:]}"),
    ("role label 当事人 + follower", "当事人赵六于2026年3月1日到场。", "当事人赵某于2026年3月1日到场。"),
    ("not a name: 陈述申辩 / 曾于", "当事人陈述申辩称其曾于2025年受过处罚。", "当事人陈述申辩称其曾于2025年受过处罚。"),
    ("18-digit ID", f"身份证号{ID_A}。", f"身份证号3201**********{ID_A[-4:]}。"),
    ("18-digit ID with X", f"欧阳某身份证号码为{ID_B}", f"欧阳某身份证号码为1101**********{ID_B[-4:]}"),
    ("15-digit ID", f"旧证号{ID_OLD}。", "旧证号3201********123。"),
    ("mobile", "手机13812345678。", "手机138****5678。"),
    ("mobile with +86 and spaces", "联系电话：+86 139 1234 5678", "联系电话：+86 139****5678"),
    ("landline with dash", "电话025-84561234，", "电话025-********，"),
    ("landline with brackets", "座机(0510)1234567。", "座机(0510)*******。"),
    ("party address", "住址江苏省南京市鼓楼区中山北路12号3栋201室。", "住址江苏省南京市鼓楼区****。"),
    ("address after keyword", "家住苏州市姑苏区平江路88号。", "家住苏州市姑苏区****。"),
    ("address inside text", "在南京市秦淮区某某路88号经营", "在南京市秦淮区****经营"),
    ("rural address below county", "在江宁区汤山街道某某村3组12号养殖", "在江宁区****养殖"),
    ("bank card", "银行卡号6222021234567890123。", "银行卡号***************0123。"),
    ("bank card grouped", "账号6222 0212 3456 7890。", "账号************7890。"),
    ("email", "邮箱zsf_1985@163.com。", "邮箱z***@163.com。"),
    ("licence plate", "驾驶苏A12345号小型轿车", "驾驶苏A***45号小型轿车"),
    ("legal person kept", f"南京张三丰餐饮有限公司（统一社会信用代码{USCC}）", f"南京张三丰餐饮有限公司（统一社会信用代码{USCC}）"),
    ("legal person's phone masked", "公司电话025-84561234。", "公司电话025-********。"),
    ("文书号, amounts, dates, articles untouched",
     f"{DECISION_NO}：依据第一百二十二条、第12条第1款，罚款50000元，没收违法所得2000.50元，2026年3月15日，20260315。",
     f"{DECISION_NO}：依据第一百二十二条、第12条第1款，罚款50000元，没收违法所得2000.50元，2026年3月15日，20260315。"),
    ("other 文书号 untouched", "此前已下达宁市监责改〔2026〕45号责令改正通知书。", "此前已下达宁市监责改〔2026〕45号责令改正通知书。"),
]


@pytest.mark.parametrize("case, text, expected", TABLE, ids=[row[0] for row in TABLE])
def test_disc4_redaction_table(case, text, expected):
    result = redact_decision(decision(text))
    assert result.outcome is Outcome.PUBLISH
    assert result.entry.facts == expected
    assert_no_personal_data(result.entry, PARTIES)
    assert_no_personal_data(result.entry.to_dict(), PARTIES)


def test_disc4_table_has_at_least_15_rows():
    assert len(TABLE) >= 15


def test_disc4_whole_decision_public_entry():
    facts = (f"经查，当事人张三丰（身份证号{ID_A}，手机13812345678）与欧阳娜娜共同经营南京张三丰餐饮有限公司，"
             f"在南京市秦淮区某某路88号销售过期食品。")
    result = redact_decision(decision(facts, conclusion="罚款50000元，没收违法所得2000元"))
    e = result.entry
    assert e.facts == ("经查，当事人张某（身份证号3201**********" + ID_A[-4:] + "，手机138****5678）与欧阳某共同经营"
                       "南京张三丰餐饮有限公司，在南京市秦淮区****销售过期食品。")
    assert [(p.name, p.id_display) for p in e.parties] == [
        ("张某", "3201**********" + ID_A[-4:]), ("欧阳某", "1101**********" + ID_B[-4:]),
        ("南京张三丰餐饮有限公司", USCC)]
    assert e.conclusion_type == "罚款、没收违法所得"
    assert e.decision_no == DECISION_NO and e.body_name == "南京市市场监督管理局"
    assert e.fine_amount == Decimal("50000") and e.summary_only is False
    counts = result.counts()
    assert counts[RedactionKind.NAME.value] == 4  # 2 in the party list, 2 in the facts
    assert counts[RedactionKind.RESIDENT_ID.value] == 3
    assert counts[RedactionKind.MOBILE.value] == 1 and counts[RedactionKind.ADDRESS.value] == 1


def test_disc4_audit_list_never_contains_values():
    result = redact_decision(decision(f"张三丰，身份证号{ID_A}，手机13812345678，银行卡6222021234567890123"))
    audit = repr(result.redactions) + repr(result.counts())
    for secret in ("张三丰", ID_A, "13812345678", "6222021234567890123", "三丰"):
        assert secret not in audit


def test_disc4_party_phone_in_unusual_format_is_masked():
    wang = Party(PartyKind.NATURAL, "王小五", phone="8456 1234")
    result = redact_decision(decision("王小五留下的联系方式为8456 1234。", parties=(wang,)))
    assert result.entry.facts == "王某留下的联系方式为**** ****。"
    assert result.counts() == {"name": 2, "landline": 1}


def test_disc4_same_surname_parties_are_told_apart():
    zhang_wei = Party(PartyKind.NATURAL, "张伟")
    result = redact_decision(decision("张三丰与张伟共同实施。", parties=(ZHANG, zhang_wei)))
    assert result.entry.facts == "张某甲与张某乙共同实施。"
    assert [p.name for p in result.entry.parties] == ["张某甲", "张某乙"]


@pytest.mark.parametrize("name, masked", [
    ("张三", "张某"), ("张三丰", "张某"), ("欧阳娜娜", "欧阳某"), ("司马光", "司马某"), ("诸葛亮", "诸葛某"),
    ("上官婉儿", "上官某"), ("买买提·艾力", "买某"), ("欧敏", "欧某"),
])
def test_disc4_mask_name_with_compound_surnames(name, masked):
    assert mask_name(name) == masked


@pytest.mark.parametrize("address, reduced", [
    ("南京市鼓楼区某某路12号", "南京市鼓楼区****"),
    ("江苏省南京市鼓楼区中山北路12号3栋201室", "江苏省南京市鼓楼区****"),
    ("广州市天河区体育西路1号", "广州市天河区****"),
    ("北京市西城区金融大街7号", "北京市西城区****"),
    ("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号", "新疆维吾尔自治区乌鲁木齐市天山区****"),
    ("江苏省昆山市玉山镇某某村5组", "江苏省昆山市****"),
    ("幸福小区3栋201室", "****"),
    ("南京市鼓楼区", "南京市鼓楼区"),
])
def test_disc4_reduce_address_to_county_level(address, reduced):
    assert reduce_address(address) == reduced


def test_disc4_state_secret_is_withheld():
    result = redact_decision(decision("张三丰……", secrecy=Secrecy.STATE_SECRET))
    assert result.outcome is Outcome.WITHHELD
    assert result.entry is None
    assert result.reason_zh == "该执法决定涉及国家秘密，依法不予公开。"


@pytest.mark.parametrize("secrecy, notice", [
    (Secrecy.COMMERCIAL_SECRET, "该执法决定涉及商业秘密，依法仅公开摘要信息。"),
    (Secrecy.PERSONAL_PRIVACY, "该执法决定涉及个人隐私，依法仅公开摘要信息。"),
])
def test_disc4_commercial_secret_and_privacy_publish_summary_only(secrecy, notice):
    result = redact_decision(decision(f"张三丰 {ID_A} 配方工艺……", secrecy=secrecy,
                                      conclusion="罚款50000元并没收违法所得"))
    e = result.entry
    assert result.outcome is Outcome.SUMMARY and e.summary_only is True
    assert (e.body_name, e.category, e.conclusion_type, e.decided_on) == (
        "南京市市场监督管理局", "未取得食品经营许可从事食品经营", "罚款、没收违法所得", dt.date(2026, 3, 10))
    assert e.facts is None and e.conclusion is None and e.legal_basis is None and e.parties == ()
    assert e.fine_amount is None and e.notice_zh == notice
    assert_no_personal_data(e, PARTIES)


def test_disc4_minor_party_publishes_summary_only():
    first17 = "32010220100101123"
    minor = Party(PartyKind.NATURAL, "刘小明", IdType.RESIDENT_ID, first17 + resident_id_check_char(first17))
    result = redact_decision(decision("刘小明……", parties=(minor,)))
    assert result.outcome is Outcome.SUMMARY
    assert result.reason_zh == "该执法决定的当事人为未成年人，依法仅公开摘要信息。"


def test_disc4_checker_catches_every_kind_of_leak():
    clean = redact_decision(decision("经查属实。")).entry
    leaks = {
        "name": "张三丰到场",
        "resident_id": f"号码{ID_A}",
        "mobile": "电话138 1234 5678",
        "bank_account": "账户6222021234567890",
        "id_number": f"证件{ID_B}",
    }
    for kind, text in leaks.items():
        leaked = dataclasses.replace(clean, facts=text)
        with pytest.raises(PersonalDataLeak) as err:
            assert_no_personal_data(leaked, PARTIES)
        assert ("facts", kind) in err.value.findings
        assert text not in str(err.value)  # the message names field and kind, never the value
    # a natural person's name inside a public party list entry is caught too
    bad_party = dataclasses.replace(clean.parties[0], name="张三丰")
    assert ("parties[0].name", "name") in find_personal_data(
        dataclasses.replace(clean, parties=(bad_party,)), PARTIES)


def test_disc4_checker_ignores_public_legal_person_data():
    text = f"南京张三丰餐饮有限公司 {USCC} {DECISION_NO}"
    entry = dataclasses.replace(redact_decision(decision("经查属实。")).entry, facts=text)
    assert find_personal_data(entry, PARTIES) == []


def test_disc4_redact_text_for_staff_reasons():
    text, items = redact_text("当事人张三丰的手机号13812345678录入有误", PARTIES)
    assert text == "当事人张某的手机号138****5678录入有误"
    assert {(i.kind, i.count) for i in items} == {(RedactionKind.NAME, 1), (RedactionKind.MOBILE, 1)}


def test_disc3_decision_from_payload():
    d = decision_from_payload({
        "case_id": "C1", "decision_no": DECISION_NO, "version": 2, "body_id": "B1", "body_name": "某局",
        "region_code": "320100", "action_type": "permit", "category": "食品经营许可",
        "parties": [{"party_kind": "legal", "name": "某公司", "id_type": "uscc", "id_number": USCC}],
        "facts": "", "legal_basis": "", "conclusion": "准予许可", "fine_amount": None,
        "decided_at": "2026-03-10", "secrecy": "none", "publication_period_override": 5})
    assert d.action_type is ActionType.PERMIT and d.decided_at == dt.date(2026, 3, 10)
    assert d.publication_period_override == 5 and d.parties[0].party_kind is PartyKind.LEGAL
    assert redact_decision(d).entry.conclusion_type == "准予许可"
    with pytest.raises(ValueError):
        decision_from_payload({"case_id": "C1", "action_type": "penalty"})


def test_disc4_rules_file_is_validated(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("masks: {resident_id: {keep_head: 6, keep_tail: 8}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="resident_id"):
        load_redaction_rules(bad)
    assert load_redaction_rules().resident_id.keep_head == 4
