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
    # names after role labels are masked whoever the party is (DISC-4, issue 15): the company party's
    # legal representative, responsible person, agent, contact, investor, the operator of a business …
    ("法定代表人 of the company party", "当事人南京张三丰餐饮有限公司，法定代表人王建国，住所地南京市鼓楼区湖南路1号。",
     "当事人南京张三丰餐饮有限公司，法定代表人王某，住所地南京市鼓楼区****。"),
    ("法定代表人, field form", "法定代表人：王建国，职务：总经理。", "法定代表人：王某，职务：总经理。"),
    ("法定代表人, name end not recognised: the longest plausible name goes", "法定代表人王建国带领员工到场。",
     "法定代表人王某带领员工到场。"),
    ("法定代表人, masked wherever the name appears again", "法定代表人王建国于3月1日到场，王建国承认违法事实。",
     "法定代表人王某于3月1日到场，王某承认违法事实。"),
    ("法人代表, compound surname", "法人代表欧阳修签订合同。", "法人代表欧阳某签订合同。"),
    ("法定代表人签名：", "法定代表人签名：王建国。", "法定代表人签名：王某。"),
    ("负责人 + follower", "公司负责人李华在现场。", "公司负责人李某在现场。"),
    ("负责人为 + name", "该店负责人为刘德明。", "该店负责人为刘某。"),
    ("负责人, a title before the name", "负责人：总经理王建国。", "负责人：总经理王某。"),
    ("主要负责人", "主要负责人周伟擅自改变用途。", "主要负责人周某擅自改变用途。"),
    ("经营者", "经营者刘强未办理食品经营许可。", "经营者刘某未办理食品经营许可。"),
    ("实际经营者 of an individual business", "实际经营者李小龙系个体工商户。", "实际经营者李某系个体工商户。"),
    ("委托代理人, then an organisation", "委托代理人陈明，江苏某某律师事务所律师。", "委托代理人陈某，江苏某某律师事务所律师。"),
    ("证人, narrative", "证人赵丽华证实上述事实。", "证人赵某证实上述事实。"),
    ("联系人 with a phone", "联系人孙小梅，电话025-84561234。", "联系人孙某，电话025-********。"),
    ("联系人, field form with a title after", "联系人：孙小梅（店长）。", "联系人：孙某（店长）。"),
    ("投资人 of a sole proprietorship", "投资人周建军出资设立该企业。", "投资人周某出资设立该企业。"),
    # over-redaction traps: a label followed by a title, an organisation or an ordinary word
    ("trap: 负责人 followed by a title", "负责人：总经理。", "负责人：总经理。"),
    ("trap: 负责人 followed by an organisation", "负责人为公司办公室。", "负责人为公司办公室。"),
    ("trap: 负责人系 + a title", "负责人系该店店长。", "负责人系该店店长。"),
    ("trap: a title that starts like a surname", "负责人董事长签字确认。", "负责人董事长签字确认。"),
    ("trap: 负责人员", "负责人员未到场。", "负责人员未到场。"),
    ("trap: 负责人高度重视", "负责人高度重视，立即整改。", "负责人高度重视，立即整改。"),
    ("trap: 法定代表人签字确认", "法定代表人签字确认。", "法定代表人签字确认。"),
    ("trap: 经营者应当 (function word)", "经营者应当建立进货查验记录。", "经营者应当建立进货查验记录。"),
    ("trap: 经营者 + an individual business's name", "经营者武进区湖塘镇李记小吃店未公示许可证。",
     "经营者武进区湖塘镇李记小吃店未公示许可证。"),
    ("trap: 经营者个体工商户", "经营者个体工商户李记小吃店。", "经营者个体工商户李记小吃店。"),
    ("trap: 投资人 is a company", "投资人南京某某投资有限公司。", "投资人南京某某投资有限公司。"),
    ("trap: 投资人出资额", "投资人出资额为10万元。", "投资人出资额为10万元。"),
    ("trap: 联系人及联系电话", "联系人及联系电话未登记。", "联系人及联系电话未登记。"),
    ("trap: 证人证言", "证人证言与现场照片相互印证。", "证人证言与现场照片相互印证。"),
    ("trap: 委托代理人 is a law firm", "委托代理人：江苏某某律师事务所。", "委托代理人：江苏某某律师事务所。"),
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


SHOP_USCC = "92320412MA1X2Y3B4"[:17] + uscc_check_char("92320412MA1X2Y3B4"[:17])
SHOP = Party(PartyKind.OTHER, "常州市武进区湖塘镇李记小吃店", IdType.USCC, SHOP_USCC, "0519-86123456")
BUSINESS_TABLE = [  # an individual business (个体工商户) as the party: its name is public, its operator's is not
    ("经营者 of the individual business", "当事人常州市武进区湖塘镇李记小吃店（个体工商户），经营者李小龙，未取得许可。",
     "当事人常州市武进区湖塘镇李记小吃店（个体工商户），经营者李某，未取得许可。"),
    ("经营者, field form", "经营者：李小龙，联系电话13912345678。", "经营者：李某，联系电话139****5678。"),
    ("投资人", "该店投资人王小二于2025年开业。", "该店投资人王某于2025年开业。"),
    ("trap: the shop's name after 经营者 stays", "经营者常州市武进区湖塘镇李记小吃店未公示许可证。",
     "经营者常州市武进区湖塘镇李记小吃店未公示许可证。"),
]


@pytest.mark.parametrize("case, text, expected", BUSINESS_TABLE, ids=[row[0] for row in BUSINESS_TABLE])
def test_disc4_individual_business_table(case, text, expected):
    """DISC-4 (issue 15): the operator (经营者) or investor of an individual business is masked, its
    registered name and code stay public."""
    result = redact_decision(decision(text, parties=(SHOP,)))
    assert result.outcome is Outcome.PUBLISH
    assert result.entry.facts == expected
    assert [(p.name, p.id_display) for p in result.entry.parties] == [(SHOP.name, SHOP_USCC)]
    assert_no_personal_data(result.entry, (SHOP,))


HELD = [  # a name after a label whose end the redactor cannot find: held, never published (issue 15)
    ("负责人", "负责人王建国带领员工拒绝检查。"),
    ("经营者", "经营者李四带领顾客离开。"),
    ("投资人", "投资人周建军决定停业。"),
    ("负责人, a name followed by a word", "负责人李明明知故犯。"),
    ("经营者, a minority name", "经营者买买提·艾力销售过期食品。"),
]


@pytest.mark.parametrize("case, text", HELD, ids=[row[0] for row in HELD])
def test_disc4_issue15_unrecognised_labelled_name_is_held_not_published(case, text):
    """DISC-4 (issue 15): the last line of defence flags a person-name-like token left in clear after a
    role label; redact_decision refuses to produce the entry (the publication is held)."""
    with pytest.raises(PersonalDataLeak) as err:
        redact_decision(decision(text, parties=(COMPANY,)))
    assert ("facts", "labelled_name") in err.value.findings
    assert text[4:7] not in str(err.value)


CHECK_LABELS = ["法定代表人", "负责人", "经营者", "委托代理人", "证人", "联系人", "投资人"]


@pytest.mark.parametrize("label", CHECK_LABELS)
def test_disc4_issue15_checker_flags_a_name_in_clear_after_each_label(label):
    """DISC-4 (issue 15): the published text of a decision against a company kept 法定代表人 … in clear,
    and the last-defence check let it through. Now any person-name-like token after the label is found
    (field and kind only), whatever the form; masked names, titles and organisations are not."""
    clean = redact_decision(decision("经查属实。", parties=(COMPANY,))).entry
    for text in (f"当事人南京张三丰餐饮有限公司，{label}王建国。", f"{label}：王建国，", f"{label}为王建国",
                 f"{label}：总经理王建国", f"{label}欧阳修带领", f"{label}王建国带领员工"):
        leaked = dataclasses.replace(clean, facts=text)
        with pytest.raises(PersonalDataLeak) as err:
            assert_no_personal_data(leaked, (COMPANY,))
        assert err.value.findings == [("facts", "labelled_name")], text
        assert "王建国" not in str(err.value) and "欧阳修" not in str(err.value)
    for text in (f"{label}王某于现场", f"{label}：欧阳某，", f"{label}：总经理。", f"{label}为公司办公室",
                 f"{label}应当到场", f"{label}常州市武进区湖塘镇李记小吃店", f"{label}王某甲"):
        assert find_personal_data(dataclasses.replace(clean, facts=text), (COMPANY,)) == [], text


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


def test_disc4_issue15_production_rules_name_the_role_labels(tmp_path):
    """The shipped redaction.yaml is what masks and checks the labels (not code defaults): each label
    of issue 15 is a role label and a check label, and a file without check_labels is refused."""
    rules = load_redaction_rules()
    for label in CHECK_LABELS:
        assert label in rules.role_labels and label in rules.check_labels
    assert {"法定代表人", "法人代表"} <= rules.fallback_labels
    import yaml

    from services.disclosure.domain.redaction import DEFAULT_REDACTION_FILE
    data = yaml.safe_load(DEFAULT_REDACTION_FILE.read_text(encoding="utf-8"))
    del data["check_labels"]
    path = tmp_path / "no-check.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="check_labels"):
        load_redaction_rules(path)
