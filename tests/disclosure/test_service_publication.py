"""The disclosure service on the real broker (DISC-3 … DISC-6, DISC-9): deadlines, redaction end to end,
corrections, take-downs, fail-closed holds and overdue tracking."""
import datetime as dt
import json
import re
import sqlite3

import pytest
from nameko.standalone.rpc import ClusterRpcClient

from services.disclosure import lifecycle
from services.disclosure.domain.redaction import PersonalDataLeak
from tests.disclosure import events as dev
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration
D = dt.date


def published(suite, **params):
    response = suite.get("/api/v1/public/decisions", params=params)
    assert response.ok, response.text
    return response.json()["results"]


def by_decision_no(suite, decision_no, **params):
    return [r for r in published(suite, **params) if r["decision_no"] == decision_no]


def wait_published(suite, decision_no, q=None):
    return wait_for(lambda: by_decision_no(suite, decision_no, q=q or decision_no), message=decision_no)[0]


def outbox(suite, event_type):
    path = suite.databases["disclosure"][len("sqlite:///"):]
    with sqlite3.connect(path) as conn:
        return [json.loads(e) for (e,) in conn.execute("SELECT envelope FROM outbox WHERE event_type = ?",
                                                       (event_type,))]


# --- DISC-3 deadlines through the service --------------------------------------------------------------
def test_disc3_service_deadlines_across_holiday_adjusted_weekend_and_unloaded_year(suite):
    """7 working days for a penalty across National Day and the worked Saturday 10 October 2026; 20 for an
    inspection; a deadline reaching 2027 (schedule not loaded) is provisional, on the page too."""
    cases = [("DL-1", "penalty", D(2026, 9, 28), "2026-10-13", False, "武市监罚〔2026〕901号"),
             ("DL-2", "inspection", D(2026, 9, 18), "2026-10-22", False, "武市监检〔2026〕902号"),
             ("DL-3", "penalty", D(2026, 12, 28), "2027-01-06", True, "武市监罚〔2026〕903号")]
    for case_id, action, day, *_rest, number in cases:
        suite.publish(dev.decision(case_id, parties=[ev.legal_party()], facts="经查属实。", action=action,
                                   decided_at=dev.at(day), decision_no=number))
    for _case, _action, day, due, provisional, number in cases:
        entry = wait_published(suite, number)
        assert (entry["decided_on"], entry["due_on"], entry["due_provisional"]) == (day.isoformat(), due, provisional)
    page = suite.get(wait_published(suite, "武市监罚〔2026〕903号")["url"]).text
    assert "2027年1月6日" in page and "暂定" in page     # a Chinese date on the page (issue 19)
    # published after the deadline → counted as published late for the supervisors (DISC-3)
    late = {p["decision_no"]: p for p in suite.get("/api/v1/disclosure/due", suite.token("supervisor", "320400"))
            .json()["publications"]}
    assert late["武市监罚〔2026〕901号"]["timeliness"] == "published_late"
    assert "武市监罚〔2026〕903号" not in late or late["武市监罚〔2026〕903号"]["timeliness"] != "published_late"


# --- DISC-4: a table of redaction cases, nothing personal anywhere the public can read -------------------
MINOR_ID = ev.resident_id("32041220120305123")  # born 2012: a minor
ADULT_ID_2 = ev.resident_id("32041219900101001")
CASES = [
    # (case id, parties, facts, secrecy, expected public parties, expectations)
    ("RD-1", [ev.natural_party("张三丰")],
     f"当事人张三丰，身份证号{ev.resident_id()}，联系电话13912345678，住常州市武进区湖塘镇花园街18号，销售过期食品。",
     "none", "张某", {"facts_contains": ["张某", "139****5678", "武进区****"]}),
    ("RD-2", [{"party_kind": "natural", "name": "欧阳娜娜", "id_type": "resident_id", "id_number": ADULT_ID_2,
               "phone": "13800138000"}],
     "欧阳娜娜通过邮箱ouyang_nn@163.com收款，银行账号6222021234567890123，娜娜称不知情。",
     "none", "欧阳某", {"facts_contains": ["欧阳某", "o***@163.com", "0123"]}),
    ("RD-3", [ev.natural_party("张伟"), {**ev.natural_party("张三丰"), "id_number": ADULT_ID_2}],
     "张伟与张三丰合伙经营，证人王建国证实其销售过期食品，王建国的旧身份证号320102850312123。",
     "none", "张某甲、张某乙", {"facts_contains": ["证人王某证实"]}),
    ("RD-4", [ev.legal_party("常州市顺达机械有限公司")],
     f"常州市顺达机械有限公司（法定代表人李四，身份证号{ADULT_ID_2}，手机15905190000）销售不合格产品。",
     "none", "常州市顺达机械有限公司", {"facts_contains": ["常州市顺达机械有限公司", "法定代表人李某"]}),
    # the company's name is public registration data; its legal representative's name is not (issue 15)
    ("RD-5", [{"party_kind": "natural", "name": "赵小虎", "id_type": "resident_id", "id_number": MINOR_ID}],
     "赵小虎销售烟花爆竹。", "none", "", {"summary": True}),
    ("RD-6", [ev.natural_party("孙丽")], "孙丽的病历信息。", "personal_privacy", "", {"summary": True}),
    ("RD-7", [ev.natural_party("钱进")], "钱进涉及国家秘密的事项。", "state_secret", None, {}),
]
SECRETS = ["张三丰", "张伟", "欧阳娜娜", "娜娜称", "王建国", "李四", "赵小虎", "孙丽", "钱进", ev.resident_id(), ADULT_ID_2,
           MINOR_ID, "320102850312123", "13912345678", "13800138000", "15905190000", "ouyang_nn", "6222021234567890123",
           "花园街18号", "湖塘镇", "病历", "国家秘密的事项"]


def test_disc4_redaction_cases_leave_no_personal_data_in_any_public_output(suite):
    """Every public output — portal pages, JSON, CSV, Atom, body page — is scanned for every secret."""
    suite.publish(dev.body_registered())
    numbers = {}
    for i, (case_id, parties, facts, secrecy, *_rest) in enumerate(CASES):
        numbers[case_id] = f"武市监罚〔2026〕{700 + i}号"
        suite.publish(dev.decision(case_id, parties=parties, facts=facts, secrecy=secrecy,
                                   decision_no=numbers[case_id], conclusion="罚款人民币5000元"))
    entries = {}
    for case_id, _parties, _facts, secrecy, expected_parties, expect in CASES:
        if secrecy == "state_secret":
            continue
        entries[case_id] = wait_published(suite, numbers[case_id])
        assert entries[case_id]["parties"] == expected_parties, case_id
        for text in expect.get("facts_contains", []):
            assert text in entries[case_id]["facts"], (case_id, entries[case_id]["facts"])
        if expect.get("summary"):
            assert entries[case_id]["summary_only"] and not entries[case_id]["facts"]
    # the state secret is not published at all (but counted: it is in the service)
    wait_for(lambda: True)
    assert by_decision_no(suite, numbers["RD-7"], q="国家秘密") == []

    outputs = [suite.get("/").text, suite.get("/", params={"q": "食品"}).text,
               json.dumps(suite.get("/api/v1/public/decisions", params={"page_size": 100}).json(), ensure_ascii=False),
               suite.get("/api/v1/public/decisions.csv").text, suite.get("/api/v1/public/decisions.atom").text,
               suite.get("/disclosure/bodies/320412-SCJG").text,
               json.dumps(suite.get("/api/v1/public/bodies/320412-SCJG").json(), ensure_ascii=False)]
    for entry in entries.values():
        outputs.append(suite.get(entry["url"]).text)
        outputs.append(json.dumps(suite.get(f"/api/v1/public/decisions/{entry['publication_id']}").json(),
                                  ensure_ascii=False))
    for word in ("张", "欧阳", "王", "食品", "1391", "6222"):
        outputs.append(json.dumps(published(suite, q=word), ensure_ascii=False))
    blob = "\n".join(outputs)
    assert numbers["RD-1"] in blob and "张某" in blob  # the scan does look at the entries
    leaked = [s for s in SECRETS if s in blob]
    assert leaked == []
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", blob)  # no mobile number at all


# --- DISC-5 / DISC-6: correction and take-down histories -----------------------------------------------
def test_disc5_correction_is_re_redacted_with_history_and_disc6_takedown_leaves_a_notice(suite):
    suite.publish(dev.body_registered())
    party = ev.natural_party("张三丰")
    suite.publish(dev.decision("LC-1", parties=[party], facts="当事人张三丰销售过期牛奶。", decision_no="武市监罚〔2026〕801号",
                               conclusion="罚款人民币3000元", fine="3000.00"))
    entry = wait_published(suite, "武市监罚〔2026〕801号")
    officer = suite.token("officer", "320412", sub="officer-7", bodies=["320412-SCJG"])
    path = f"/api/v1/disclosure/publications/{entry['publication_id']}/corrections"

    outsider = suite.post(path, {"reason": "更正", "changes": {"conclusion": "罚款人民币300元"}},
                          suite.token("officer", "320105", bodies=["320105-YJ"]))
    assert outsider.status_code == 404  # another county's officer cannot see it (PLAT-1, in the service)
    assert suite.post(path, {"reason": "无", "changes": {}}, officer).status_code == 422

    corrected = suite.post(path, {"reason": "当事人张三丰的罚款金额录入有误（手机13912345678来电反映）",
                                  "changes": {"conclusion": "罚款人民币300元", "fine_amount": "300.00",
                                              "facts": "当事人张三丰（电话13912345678）销售过期牛奶。"}}, officer)
    assert corrected.status_code == 200, corrected.text
    view = corrected.json()["publication"]
    assert view["status"] == "corrected" and view["conclusion"] == "罚款人民币300元"
    assert "张三丰" not in json.dumps(view, ensure_ascii=False) and "13912345678" not in json.dumps(view)
    assert view["notice"] == "该公示信息已更正1次，以下为更正后的内容。"
    assert [h["action"] for h in view["history"]] == ["publish", "correct"]
    assert view["history"][1]["reason"].startswith("当事人张某的罚款金额录入有误")
    assert set(view["history"][1]["changed_fields_zh"]) == {"执法结论", "罚款金额", "违法事实"}
    assert "officer-7" not in json.dumps(view)  # staff ids are internal
    # the search index follows the correction
    assert by_decision_no(suite, "武市监罚〔2026〕801号", q="罚款人民币300元")
    assert not by_decision_no(suite, "武市监罚〔2026〕801号", q="罚款人民币3000元")
    same = suite.post(path, {"reason": "再次更正", "changes": {"conclusion": "罚款人民币300元"}}, officer)
    assert same.status_code == 409  # nothing changed: refused by the domain

    # DISC-6: revoked on reconsideration → taken down, notice and history remain
    suite.publish(dev.revoked("LC-1", note="武政复决字〔2026〕5号"))
    gone = wait_for(lambda: (lambda r: r["status"] == "withdrawn" and r)(
        suite.get(f"/api/v1/public/decisions/{entry['publication_id']}").json()), message="withdrawal")
    assert gone["facts"] == "" and gone["parties"] == ""
    assert gone["notice"].startswith("该行政执法决定已于") and "依法撤销" in gone["notice"]
    assert [h["action"] for h in gone["history"]] == ["publish", "correct", "withdraw"]
    assert "行政复议决定" in gone["history"][2]["reason"] and "武政复决字〔2026〕5号" in gone["history"][2]["reason"]
    assert not by_decision_no(suite, "武市监罚〔2026〕801号")
    page = suite.get(entry["url"]).text
    assert "已撤下" in page and "撤下" in page and "更正" in page and "过期牛奶" not in page
    assert suite.post(path, {"reason": "更正", "changes": {"conclusion": "x"}}, officer).status_code == 409


def test_disc6_remade_decision_is_linked_and_revocation_before_publication_cancels(suite, monkeypatch):
    suite.publish(dev.body_registered())
    suite.publish(dev.decision("RM-1", parties=[ev.legal_party()], facts="经查属实。", decision_no="武市监罚〔2026〕811号"))
    old = wait_published(suite, "武市监罚〔2026〕811号")
    suite.publish(dev.revoked("RM-1", reason="remade", by="litigation", note="（2026）苏04行终1号"))
    wait_for(lambda: suite.get(f"/api/v1/public/decisions/{old['publication_id']}").json()["status"] == "withdrawn")
    suite.publish(dev.decision("RM-1", parties=[ev.legal_party()], facts="重新调查后查明。", version=2,
                               decision_no="武市监罚〔2026〕812号"))
    new = wait_published(suite, "武市监罚〔2026〕812号")
    new_full = suite.get(f"/api/v1/public/decisions/{new['publication_id']}").json()
    old_full = suite.get(f"/api/v1/public/decisions/{old['publication_id']}").json()
    assert new_full["replaces"] == old["publication_id"] and old_full["replaced_by"] == new["publication_id"]
    assert old_full["notice"].endswith("重新作出的决定已另行公示。")
    assert "关联重新作出的决定" in [h["action_zh"] for h in old_full["history"]]

    # fail closed: if the redacted entry still shows personal data it is held, not published …
    real = lifecycle.redact_decision

    def leaky(decision, *a, **kw):
        if "-HOLD-" in decision.case_id:
            raise PersonalDataLeak([("facts", "name")])
        return real(decision, *a, **kw)

    monkeypatch.setattr(lifecycle, "redact_decision", leaky)
    long_ago = dt.datetime.now(dev.CHINA) - dt.timedelta(days=40)
    suite.publish(dev.decision("HOLD-1", parties=[ev.natural_party()], facts="x", decided_at=long_ago,
                               decision_no="武市监罚〔2026〕821号"))
    suite.publish(dev.decision("HOLD-2", parties=[ev.natural_party()], facts="y", decided_at=long_ago,
                               decision_no="武市监罚〔2026〕822号"))
    supervisor = suite.token("supervisor", "320400")
    due = wait_for(lambda: (lambda ps: len(ps) == 2 and ps)(
        [p for p in suite.get("/api/v1/disclosure/due", supervisor).json()["publications"]
         if p["decision_no"] in ("武市监罚〔2026〕821号", "武市监罚〔2026〕822号")]), message="two held")
    assert all(p["status"] == "pending" and "个人信息" in p["hold_reason"] for p in due)
    assert all(p["timeliness"] == "overdue" and p["warning"] == "red" for p in due)
    assert not by_decision_no(suite, "武市监罚〔2026〕821号")

    # … the leased job emits disclosure.overdue once per publication
    with ClusterRpcClient() as rpc:
        first = rpc.disclosure.run_deadline_check()
        second = rpc.disclosure.run_deadline_check()
    assert first["notified"] >= 2 and second["notified"] == 0
    overdue = [e for e in outbox(suite, "disclosure.overdue")
               if e["payload"]["publication_id"] in {p["publication_id"] for p in due}]
    assert len(overdue) == 2 and {e["payload"]["due_on"] for e in overdue} == {p["due_on"] for p in due}

    # … revoked before publication: never published, no take-down (the domain cannot withdraw pending)
    held1 = next(p for p in due if p["decision_no"] == "武市监罚〔2026〕821号")
    suite.publish(dev.revoked("HOLD-1", reason="confirmed_illegal", by="supervision"))
    wait_for(lambda: not [p for p in suite.get("/api/v1/disclosure/due", supervisor).json()["publications"]
                          if p["publication_id"] == held1["publication_id"]], message="cancelled")
    assert suite.get(f"/api/v1/public/decisions/{held1['publication_id']}").status_code == 404

    # … and the body's correction publishes a held one (late), with the history saying so
    monkeypatch.setattr(lifecycle, "redact_decision", real)
    held2 = next(p for p in due if p["decision_no"] == "武市监罚〔2026〕822号")
    fixed = suite.post(f"/api/v1/disclosure/publications/{held2['publication_id']}/corrections",
                       {"reason": "补充脱敏后公开", "changes": {"facts": "当事人销售过期食品。"}},
                       suite.token("officer", "320412", bodies=["320412-SCJG"]))
    assert fixed.status_code == 200, fixed.text
    view = fixed.json()["publication"]
    assert view["status"] == "published" and view["on_time"] is False
    assert view["history"][0]["reason"] == "更正后公开：补充脱敏后公开"
    assert wait_published(suite, "武市监罚〔2026〕822号")


# --- DISC-9: the CSV export is safe to open in a spreadsheet (issue 14) --------------------------------
def test_disc9_csv_export_escapes_cells_a_spreadsheet_would_run_as_formulas(suite):
    """A departmental system's text starting with = + - @ (OWASP CSV injection) is exported with a
    leading single quote; the JSON API keeps it as sent."""
    import csv
    import io

    number = "武市监罚〔2026〕990号"
    suite.publish(dev.decision("CSV-1", parties=[ev.legal_party("@SUM(1+1)*cmd|' /C calc'!A0")], facts="经查属实。",
                               category="=HYPERLINK(\"http://evil.example\",\"点击查看\")", conclusion="+罚款5000元",
                               legal_basis="-《中华人民共和国食品安全法》", decision_no=number))
    entry = wait_published(suite, number)
    assert entry["category"].startswith("=HYPERLINK")
    text = suite.get("/api/v1/public/decisions.csv", params={"q": number}).content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    row = dict(zip(header, next(r for r in rows if r[1] == number)))
    assert row["执法类别"] == "'=HYPERLINK(\"http://evil.example\",\"点击查看\")"
    assert row["执法对象"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["执法结论"] == "'+罚款5000元" and row["执法依据"] == "'-《中华人民共和国食品安全法》"
    assert not [cell for r in rows for cell in r if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
