"""Projections and confidentiality, accountability clues, CMP-6 report (CMP-4, CMP-5, CMP-6, COORD-1, EVAL-7)."""
from __future__ import annotations

import datetime as dt
import json

from services.common.workdays import default_calendar
from services.complaints.domain import (Complainant, ComplaintFlags, Handler, accountability_clues, assess,
                                        body_view, enterprise_report, handler_view, public_status, query_status,
                                        redact_identity)
from tests.complaints.test_domain_builders import (ADDRESS, ID_NUMBER, NAME, PHONE, QUERY_CODE, at, complaint,
                                                   record)

CAL = default_calendar()
D = dt.date
CITY = Handler("unit-320400-sfj", "320400", "常州市司法局行政执法监督处")

LEAKY_FACTS = ("我叫王小明，手机138 1234 5678，身份证号320412199001011231，住常州市武进区湖塘镇人民路88号5幢302室。"
               "9月1日小明在店里，执法人员对王先生当场罚款五千元，未出示执法证件。")


def _handled(c=None):
    r = record(c)
    r = r.accept(at=at(2026, 10, 9), actor="handler-li", calendar=CAL)
    r = r.add_progress("已调取执法记录仪视频。", at=at(2026, 10, 20), actor="handler-li",
                       internal_note="内部：执法人员承认未出示证件")
    return r.conclude("经查属实，已责令撤销罚款决定并退还罚款。", True, at=at(2026, 11, 2), actor="handler-li")


def _dump(view) -> str:
    return json.dumps(view, ensure_ascii=False)


# --- public status --------------------------------------------------------------------------------

def test_cmp4_public_status_contains_status_and_nothing_else():
    view = public_status(_handled(complaint(facts=LEAKY_FACTS)))
    assert view == {
        "register_number": "320412-2026-000123",
        "status": "concluded",
        "status_label": "已办结",
        "received_on": "2026-09-30",
        "acknowledge_due": "2026-10-13",
        "decided_on": "2026-10-09",
        "handling_due": "2026-11-19",
        "concluded_on": "2026-11-02",
        "progress": [{"date": "2026-09-30", "text": "您的投诉举报已登记。"},
                     {"date": "2026-10-09", "text": "您的投诉举报已受理，正在依法办理。"},
                     {"date": "2026-10-20", "text": "已调取执法记录仪视频。"},
                     {"date": "2026-11-02", "text": "您的投诉举报已办结。办理结果：经查属实，已责令撤销罚款决定并退还罚款。"}],
        "result": "经查属实，已责令撤销罚款决定并退还罚款。",
    }
    text = _dump(view)
    for secret in ("handler-li", "内部", "武进区司法局", "body-320412-scjg", "officer-001", "case-2026-0901",
                   NAME, PHONE, "scrypt"):
        assert secret not in text


def test_cmp4_public_status_of_not_accepted_gives_reason():
    r = record().not_accept("反映的事项属于民事纠纷", at=at(2026, 10, 8), actor="handler-li", note="内部意见")
    view = public_status(r)
    assert view["status"] == "not_accepted"
    assert view["result"] == "不予受理。理由：反映的事项属于民事纠纷"
    assert view["progress"][-1] == {"date": "2026-10-08", "text": "您的投诉举报不予受理。理由：反映的事项属于民事纠纷"}
    assert "内部意见" not in _dump(view)


def test_cmp4_query_by_number_and_code():
    r = record()
    assert query_status(r, "320412-2026-000123", QUERY_CODE)["status"] == "registered"
    assert query_status(r, "320412-2026-000123", "K7QM4WZQ") is None
    assert query_status(r, "320412-2026-000124", QUERY_CODE) is None
    assert query_status(r, "garbage", QUERY_CODE) is None
    assert query_status(None, "320412-2026-000123", QUERY_CODE) is None


# --- body view (confidentiality) -------------------------------------------------------------------

def test_cmp_body_view_has_no_complainant_identity_even_in_facts():
    c = complaint(facts=LEAKY_FACTS, request="要求撤销对王小明的罚款决定，联系电话13812345678")
    r = record(c).transfer(CITY, "按管辖转办", at=at(2026, 10, 8), actor="handler-li")
    r = r.accept(at=at(2026, 10, 9), actor="handler-zhao", calendar=CAL)
    r = r.add_progress("已约谈王小明本人核实情况。", at=at(2026, 10, 20), actor="handler-zhao",
                       internal_note="内部：执法人员承认未出示证件")
    r = r.conclude("经查属实，已向王先生退还罚款。", True, at=at(2026, 11, 2), actor="handler-zhao")
    view = body_view(r)
    text = _dump(view)
    assert "complainant" not in view
    for secret in (NAME, "小明", "王先生", PHONE, "138 1234 5678", "1234 5678", ID_NUMBER, ADDRESS, "人民路88号",
                   "5幢302室", "scrypt", "内部"):
        assert secret not in text, secret
    assert view["facts"] == ("我叫[已隐去]，手机[已隐去]，身份证号[已隐去]，住[已隐去]。"
                             "9月1日[已隐去]在店里，执法人员对[已隐去]当场罚款五千元，未出示执法证件。")
    assert view["request"] == "要求撤销对[已隐去]的罚款决定，联系电话[已隐去]"
    assert view["subject"]["body_id"] == "body-320412-scjg"
    assert view["upheld"] is True
    assert view["result"] == "经查属实，已向[已隐去]退还罚款。"
    assert [e["text"] for e in view["events"]][-2] == "已约谈[已隐去]本人核实情况。"


def test_cmp_redaction_catches_formats_and_other_numbers():
    person = Complainant("欧阳明华", "0519-86661234", None, None)
    text = "欧阳先生说，明华的座机 0519 8666 1234，本地拨 86661234，邻居手机+86 139-0000-1111，邮箱 a.b@x.cn。"
    assert redact_identity(text, person) == \
        "[已隐去]说，[已隐去]的座机 [已隐去]，本地拨 [已隐去]，邻居手机[已隐去]，邮箱 [已隐去]。"
    assert redact_identity(None, person) is None
    assert redact_identity("执法人员未出示证件", Complainant()) == "执法人员未出示证件"


def test_cmp_handler_view_is_full_but_has_no_query_hash():
    view = handler_view(_handled())
    assert view["complainant"] == {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER, "address": ADDRESS}
    assert view["history"][2]["internal_note"] == "内部：执法人员承认未出示证件"
    assert view["handler"]["name"] == "武进区司法局行政执法监督科"
    assert "scrypt" not in _dump(view)


# --- accountability clues (CMP-5) ------------------------------------------------------------------

def test_cmp5_upheld_complaint_gives_clues_against_body_and_officers():
    clues = accountability_clues(_handled(), today=D(2026, 11, 3))
    assert [(c.kind, c.against_kind, c.against_ids, c.region_code) for c in clues] == [
        ("upheld_complaint", "body", ("body-320412-scjg",), "320412"),
        ("upheld_complaint", "officer", ("officer-001",), "320412"),
    ]
    assert clues[0].description == \
        "投诉举报（编号320412-2026-000123）经查属实，被投诉执法主体的执法行为违法或不当，应依法追究其主体责任"
    assert clues[0].to_dict()["label"] == "投诉举报经查属实"


def test_cmp5_not_upheld_gives_no_clue():
    r = record().accept(at=at(2026, 10, 9), actor="x", calendar=CAL)
    r = r.add_progress("核查中", at=at(2026, 10, 10), actor="x").conclude("经查不属实", False, at=at(2026, 10, 12),
                                                                            actor="x")
    assert accountability_clues(r, today=D(2026, 11, 3)) == []


def test_cmp5_in_scope_left_unaccepted_gives_clue_against_unit():
    c = complaint()
    r = record(c).not_accept("不属于受理范围", at=at(2026, 10, 8), actor="handler-li")
    clues = accountability_clues(r, today=D(2026, 10, 9), assessment=assess(c))
    assert [(x.kind, x.against_kind, x.against_ids, x.region_code) for x in clues] == [
        ("should_accept_not_accepted", "handling_unit", ("unit-320412-sfj",), "320412")]
    assert clues[0].description == \
        "投诉举报（编号320412-2026-000123）属于受理范围，承办单位应受理未受理，应倒查追究其责任"
    # out of scope refused correctly: no clue
    out = complaint(categories=("civil_dispute",))
    r2 = record(out).not_accept("民事纠纷", at=at(2026, 10, 8), actor="handler-li")
    assert accountability_clues(r2, today=D(2026, 10, 9), assessment=assess(out)) == []
    # a supervisor's finding also counts
    assert accountability_clues(r2, today=D(2026, 10, 9), found_in_scope=True)[0].kind == "should_accept_not_accepted"


def test_cmp5_left_unacknowledged_past_deadline_blames_unit_responsible_on_due_day():
    r = record()  # acknowledgement due 2026-10-13
    assert accountability_clues(r, today=D(2026, 10, 13)) == []
    r = r.transfer(CITY, "转市司法局", at=at(2026, 10, 15), actor="x")   # transferred after the due day
    clues = accountability_clues(r, today=D(2026, 10, 20))
    assert [(x.kind, x.against_ids, x.region_code) for x in clues] == [
        ("acknowledge_overdue", ("unit-320412-sfj",), "320412")]
    assert clues[0].description == ("投诉举报（编号320412-2026-000123）未在2026-10-13前告知投诉人受理情况，"
                                    "至今未告知，应倒查追究承办单位责任")


def test_cmp5_late_acceptance_and_overdue_handling():
    r = record().accept(at=at(2026, 10, 14), actor="x", calendar=CAL)   # one day late
    # handling: 30 working days from 10-14 → 11-25
    assert r.handling.due == D(2026, 11, 25)
    clues = accountability_clues(r, today=D(2026, 11, 26))
    assert [x.kind for x in clues] == ["acknowledge_overdue", "handling_overdue"]
    assert clues[0].evidence == {"due": "2026-10-13", "decided_on": "2026-10-14"}
    assert clues[1].description.endswith("办理期限于2026-11-25届满，至今未办结，应倒查追究承办单位责任")


# --- CMP-6 / EVAL-7 -------------------------------------------------------------------------------

def test_cmp6_enterprise_report_counts_private_enterprise_separately():
    private = complaint(flags=ComplaintFlags(against_private_enterprise=True))
    records = [
        _handled(private).rate(5, at=at(2026, 11, 5)),
        _handled(private).rate(2, at=at(2026, 11, 5)),
        record(private).not_accept("民事纠纷", at=at(2026, 10, 8), actor="x"),
        _handled(),
        record(),
    ]
    report = enterprise_report(records)
    p, o = report.private_enterprise, report.other
    assert (p.total, p.not_accepted, p.concluded, p.upheld, p.rated, p.mean_satisfaction) == (3, 1, 2, 2, 2, 3.5)
    assert p.by_status == {"registered": 0, "accepted": 0, "not_accepted": 1, "in_progress": 0, "concluded": 0,
                           "rated": 2}
    assert (o.total, o.not_accepted, o.concluded, o.upheld, o.rated, o.mean_satisfaction) == (2, 0, 1, 1, 0, None)
    assert report.to_dict()["private_enterprise"]["total"] == 3
