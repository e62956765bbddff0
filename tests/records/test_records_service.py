"""The records service on the real broker (issue 3): proofs over HTTP checked by the auditor's script,
tampering found by ``verify``, consistency proofs, sealed cases, corrections, access supervision,
attachments, completeness gaps and erasure of personal data (REC-1…REC-8)."""
from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import TreeHead, sign_tree_head
from tests.fixtures import ROOT_DIR, dead_letters, outbox_events, running_suite, wait_for, wait_until_drained
from tests.integration import events as ev

pytestmark = pytest.mark.integration
CHINA = dt.timezone(dt.timedelta(hours=8))
PURPOSE = {"purpose": "案卷评查抽查"}


def _load_audit_tool():
    spec = importlib.util.spec_from_file_location("audit_verify", ROOT_DIR / "tools" / "audit_verify.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


AUDIT = _load_audit_tool()


@contextmanager
def records_suite(amqp_uri, databases, tmp_path, retention_days=None, services=("records", "gateway")):
    from nameko import config

    patch = {"ZHIFA_RECORDS_BLOB_DIR": str(tmp_path / "blobs"), "ZHIFA_RECORDS_STH_INTERVAL": 3600,
             "ZHIFA_RECORDS_SIGNING_KEY": "5" * 64}
    if retention_days is not None:
        path = tmp_path / "retention.yaml"
        path.write_text("version: 1\npersonal_data:\n  default_years: 30\n  by_action_type_days:\n"
                        f"    penalty: {retention_days}\n    coercive: {retention_days}\n", encoding="utf-8")
        patch["ZHIFA_RECORDS_RETENTION_FILE"] = str(path)
    with config.patch(patch, clear=False):
        with running_suite(amqp_uri, databases, tmp_path, services=list(services)) as suite:
            yield suite


@pytest.fixture
def rsuite(amqp_uri, sqlite_databases, tmp_path):
    with records_suite(amqp_uri, sqlite_databases, tmp_path, retention_days=0) as suite:
        yield suite


def supervisor(suite, region="320400", sub="sup-1"):
    return suite.token("supervisor", region, sub=sub)


def timeline(suite, case_id, token=None):
    r = suite.get(f"/api/v1/cases/{case_id}/timeline", token or supervisor(suite))
    return r.json() if r.ok else None


def wait_entries(suite, case_id, n):
    return wait_for(lambda: (lambda t: t and len(t["entries"]) >= n and t)(timeline(suite, case_id)),
                    message=f"{n} entries of {case_id}")


def public_key(suite):
    return suite.get("/api/v1/public/records/tree-head").json()["public_key"]


def evidence(case_id, n, *, stage="investigation", kind="audio_visual", document_type=None, av_form=None,
             covers=None, content=None, minutes=10):
    envelope = ev.evidence(case_id, n=n)
    p = envelope["payload"]
    p["stage"], p["record_kind"] = stage, kind
    p["document_type"] = document_type
    if content is not None:
        p["content_hash"] = hashlib.new("sm3", content).hexdigest()
    if kind != "audio_visual":
        p.pop("started_at"), p.pop("ended_at"), p.pop("device")
    else:
        start = dt.datetime.now(CHINA)
        p["started_at"], p["ended_at"] = start.isoformat(), (start + dt.timedelta(minutes=minutes)).isoformat()
    if av_form:
        p["av_form"] = av_form
    if covers:
        p["covers"] = covers
    return envelope


def archived(case_id, archive_no="归档-2026-001"):
    return ev.envelope("case.archived", {"archived_at": dt.datetime.now(CHINA).isoformat(),
                                         "archive_no": archive_no}, case_id)


def check(bundle, key):
    ok, lines = AUDIT.check_bundle(bundle, bytes.fromhex(key))
    return ok, lines


# ---------------------------------------------------------------------------------- REC-4 proofs
def test_rec4_every_entry_of_a_generated_case_set_has_a_proof_the_auditor_script_verifies(rsuite, tmp_path):
    """REC-4: inclusion proofs served over HTTP verify with tools/audit_verify.py and the pinned key;
    proofs carry no personal data; a leaf hash can be checked publicly without the entry."""
    cases = [f"320412-SCJG-REC-{i:03d}" for i in range(6)]
    party = ev.natural_party("赵六")
    for i, case_id in enumerate(cases):
        rsuite.publish(ev.case_opened(case_id, party=party))
        for n in range(1 + i % 3):
            rsuite.publish(evidence(case_id, n, av_form="body_worn_camera"))
        rsuite.publish(ev.decision_made(case_id, party=party))
    counts = {c: 3 + i % 3 for i, c in enumerate(cases)}
    for case_id, n in counts.items():
        wait_entries(rsuite, case_id, n)
    key = public_key(rsuite)
    total = 0
    for case_id in cases:
        r = rsuite.get(f"/api/v1/cases/{case_id}/proofs", supervisor(rsuite), params=PURPOSE)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["bundles"], case_id
        for bundle in doc["bundles"]:
            ok, lines = check(bundle, key)
            assert ok, lines
            entry = json.loads(bundle["entry"])
            assert entry["case_id"] == case_id and entry["seq"] == bundle["index"]
            text = json.dumps(bundle, ensure_ascii=False)
            assert "赵六" not in text and party["id_number"] not in text and "13912345678" not in text
            total += 1
    assert total >= sum(counts.values())
    # the standalone script, as an auditor runs it, on a document the service served
    path = tmp_path / "proofs.json"
    path.write_text(r.text, encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT_DIR / "tools" / "audit_verify.py"), str(path),
                          "--public-key", key, "--log-id", "records.zhifa"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("OK: entry #") == len(doc["bundles"])
    # a wrong pinned key fails
    run = subprocess.run([sys.executable, str(ROOT_DIR / "tools" / "audit_verify.py"), str(path),
                          "--public-key", "ab" * 32], capture_output=True, text=True)
    assert run.returncode == 1 and "FAILED" in run.stdout
    # public check by leaf hash: no entry content, still verifies
    leaf = doc["bundles"][0]["leaf_hash"]
    public = rsuite.get("/api/v1/public/records/inclusion", params={"leaf_hash": leaf}).json()
    assert "entry" not in public and check(public, key)[0]
    # one entry through the staff route, and region scope (PLAT-1)
    seq = doc["bundles"][-1]["index"]
    one = rsuite.get(f"/api/v1/records/entries/{seq}/proof", supervisor(rsuite), params=PURPOSE)
    assert one.ok and check(one.json(), key)[0]
    other = rsuite.token("officer", "320411")
    assert rsuite.get(f"/api/v1/records/entries/{seq}/proof", other, params=PURPOSE).status_code == 404
    assert rsuite.get(f"/api/v1/cases/{cases[0]}/proofs", other, params=PURPOSE).status_code == 404
    # all records of one party, found by the hash of the id number (REC-4)
    found = rsuite.post("/api/v1/records/party-search", {"id_number": party["id_number"], "purpose": "当事人投诉核查"},
                        supervisor(rsuite)).json()
    assert sorted(c["case_id"] for c in found["cases"]) == cases


def _copy_db(url, dest):
    src = sqlite3.connect(url.replace("sqlite:///", ""))
    dst = sqlite3.connect(dest)
    src.backup(dst)
    src.close()
    return dst


def _pending_reads(url):
    conn = sqlite3.connect(url.replace("sqlite:///", ""))
    try:
        return conn.execute("SELECT count(*) FROM pending_reads").fetchone()[0]
    finally:
        conn.close()


def _verify(db_path, key):
    from services.records.verify import verify_database

    return verify_database(f"sqlite:///{db_path}", key, "records.zhifa")


def test_rec4_tampering_in_the_database_is_named_by_verify_and_breaks_proofs(rsuite, sqlite_databases, tmp_path):
    """REC-4/REC-5: flipping one byte of a stored entry, deleting one or swapping two (directly in the
    database) is detected by ``verify`` (which names the first bad entry) and by proof checks."""
    case_id = "320412-SCJG-TAMPER-1"
    rsuite.publish(ev.case_opened(case_id))
    for n in range(5):
        rsuite.publish(evidence(case_id, n))
    rsuite.publish(ev.decision_made(case_id))
    wait_entries(rsuite, case_id, 7)
    assert rsuite.post("/api/v1/admin/records/tree-heads", token=rsuite.token("admin", "320000")).status_code == 201
    key = public_key(rsuite)
    published = rsuite.get(f"/api/v1/cases/{case_id}/proofs", supervisor(rsuite), params=PURPOSE).json()["bundles"]
    by_index = {b["index"]: b for b in published}

    # the proof read's access entry is appended by the writer, not by the read (issue 20): wait for it
    wait_for(lambda: _pending_reads(sqlite_databases["records"]) == 0, message="the read appended")
    clean = tmp_path / "clean.db"
    _copy_db(sqlite_databases["records"], clean).close()
    assert _verify(clean, key)["ok"]
    run = subprocess.run([sys.executable, "-m", "services.records.verify", "--db", f"sqlite:///{clean}",
                          "--public-key", key], capture_output=True, text=True, cwd=ROOT_DIR)
    # the proof request logged an access entry after the head: reported as not covered, not "OK" (issue 14)
    assert run.returncode == 0 and run.stdout.startswith("UNSIGNED TAIL:"), run.stdout + run.stderr
    assert "未被签名树头覆盖" in run.stdout and "核验通过" not in run.stdout

    # 1. one byte flipped in entry 3
    db = tmp_path / "flipped.db"
    conn = _copy_db(sqlite_databases["records"], db)
    canonical = conn.execute("SELECT canonical FROM log_entries WHERE sequence = 3").fetchone()[0]
    tampered = canonical.replace('"investigation"', '"investigatioN"', 1)
    assert tampered != canonical
    conn.execute("UPDATE log_entries SET canonical = ? WHERE sequence = 3", (tampered,))
    conn.commit()
    conn.close()
    report = _verify(db, key)
    assert not report["ok"] and report["first_problem"]["kind"] == "altered"
    assert report["first_problem"]["sequence"] == 3
    run = subprocess.run([sys.executable, "-m", "services.records.verify", "--db", f"sqlite:///{db}",
                          "--public-key", key], capture_output=True, text=True, cwd=ROOT_DIR)
    assert run.returncode == 1 and "sequence 3: altered" in run.stdout, run.stdout + run.stderr
    forged = dict(by_index[3], entry=tampered)          # the altered entry against the published proof
    assert not check(forged, key)[0]

    # 2. entry 2 deleted
    db = tmp_path / "deleted.db"
    conn = _copy_db(sqlite_databases["records"], db)
    conn.execute("DELETE FROM log_entries WHERE sequence = 2")
    conn.commit()
    rows = [r[0] for r in conn.execute("SELECT canonical FROM log_entries ORDER BY sequence")]
    conn.close()
    report = _verify(db, key)
    assert report["first_problem"]["kind"] == "deleted" and report["first_problem"]["sequence"] == 2
    # what now sits at position 2 is entry 3: it does not pass as entry 2 with the published proof
    assert not check(dict(by_index[2], entry=rows[2]), key)[0]

    # 3. entries 1 and 4 swapped (content and stored hashes moved together)
    db = tmp_path / "swapped.db"
    conn = _copy_db(sqlite_databases["records"], db)
    a = conn.execute("SELECT canonical, leaf_hash FROM log_entries WHERE sequence = 1").fetchone()
    b = conn.execute("SELECT canonical, leaf_hash FROM log_entries WHERE sequence = 4").fetchone()
    conn.execute("UPDATE log_entries SET canonical = ?, leaf_hash = ? WHERE sequence = 1", b)
    conn.execute("UPDATE log_entries SET canonical = ?, leaf_hash = ? WHERE sequence = 4", a)
    conn.commit()
    conn.close()
    report = _verify(db, key)
    assert report["first_problem"]["kind"] == "reordered" and report["first_problem"]["sequence"] == 1
    assert any(p["kind"] == "root_mismatch" for p in report["problems"])   # the signed heads catch it too
    assert not check(dict(by_index[1], entry=b[0]), key)[0]

    # the running service notices too: its tree no longer matches the altered entry
    live = sqlite3.connect(sqlite_databases["records"].replace("sqlite:///", ""))
    live.execute("UPDATE log_entries SET canonical = ? WHERE sequence = 3", (tampered,))
    live.commit()
    live.close()
    r = rsuite.get("/api/v1/records/entries/3/proof", supervisor(rsuite), params=PURPOSE)
    assert r.status_code == 409 and r.json()["error"] == "log_inconsistent"


def test_rec4_consistency_proof_between_two_heads_verifies_and_fails_for_rewritten_history(rsuite):
    """REC-4: the log is append-only — a consistency proof links an earlier signed head to a later one;
    a history rewritten after the first head cannot produce one, even signed with the real key."""
    admin = rsuite.token("admin", "320000")
    rsuite.publish(ev.case_opened("320412-SCJG-CONS-1"))
    rsuite.publish(evidence("320412-SCJG-CONS-1", 1))
    wait_entries(rsuite, "320412-SCJG-CONS-1", 2)
    old = rsuite.post("/api/v1/admin/records/tree-heads", token=admin).json()
    for n in range(2, 7):
        rsuite.publish(evidence("320412-SCJG-CONS-1", n))
    wait_entries(rsuite, "320412-SCJG-CONS-1", 7)
    new = rsuite.post("/api/v1/admin/records/tree-heads", token=admin).json()
    assert new["tree_size"] > old["tree_size"]
    key = public_key(rsuite)
    bundle = rsuite.get("/api/v1/public/records/consistency",
                        params={"old_size": old["tree_size"], "new_size": new["tree_size"]}).json()
    ok, lines = check(bundle, key)
    assert ok, lines
    run = subprocess.run([sys.executable, str(ROOT_DIR / "tools" / "audit_verify.py"), "-", "--public-key", key],
                         input=json.dumps(bundle), capture_output=True, text=True)
    assert run.returncode == 0 and "extends the log" in run.stdout

    # A rewritten history: entry 0 replaced, the log rebuilt and re-signed with the real key.
    n = new["tree_size"]
    genuine = [bytes.fromhex(x) for x in _all_leaves(rsuite, n)]
    rewritten = MerkleLog.from_leaf_hashes([leaf_hash(b'{"seq":0,"forged":true}')] + genuine[1:])
    forged_head = sign_tree_head(TreeHead(n, rewritten.root(n), new["timestamp"] + 1, "records.zhifa"), "5" * 64)
    forged = dict(bundle, new_root=rewritten.root(n).hex(), new_tree_head=forged_head.to_json(),
                  proof=[p.hex() for p in rewritten.consistency_proof(old["tree_size"], n)])
    ok, lines = check(forged, key)
    assert not ok and any("consistency" in line for line in lines), lines


def _all_leaves(suite, n):
    """Leaf hashes 0..n-1 through the public API (one inclusion proof per leaf is overkill: use the
    staff search, which returns every entry's leaf hash)."""
    entries, after = [], None
    while True:
        params = {"purpose": "一致性核验", "limit": 200}
        if after is not None:
            params["after"] = after
        page = suite.get("/api/v1/records/entries", supervisor(suite), params=params).json()
        entries += page["entries"]
        after = page["next_after"]
        if after is None:
            break
    by_seq = {e["sequence"]: e["leaf_hash"] for e in entries}
    # access entries are not in the search (it lists case records): take them from their own listing
    for a in suite.get("/api/v1/records/accesses", supervisor(suite), params={"limit": 200}).json()["accesses"]:
        by_seq[a["sequence"]] = a["leaf_hash"]
    return [by_seq[i] for i in range(n)]


# ------------------------------------------------------------------------ REC-5 sealed, corrections
def test_rec5_sealed_case_refuses_records_with_a_clear_reason_and_loses_nothing(rsuite):
    """REC-5: after case.archived a new record is refused (dead-lettered with the reason, and the
    refusal logged and kept for supervisors); a supervisor-authorised correction appends it."""
    case_id = "320412-SCJG-SEAL-1"
    rsuite.publish(ev.case_opened(case_id))
    rsuite.publish(evidence(case_id, 1))
    wait_entries(rsuite, case_id, 2)
    rsuite.publish(archived(case_id))
    wait_for(lambda: timeline(rsuite, case_id)["sealed"], message="sealed")
    late = evidence(case_id, 9, document_type="proof_of_service", kind="text", stage="service_execution")
    rsuite.publish(late)
    letters = wait_for(lambda: dead_letters(rsuite.amqp_uri, "records"), message="refused record dead-lettered")
    assert late["event_id"] in letters[0]["body"]
    assert "archived and sealed" in letters[0]["reason"] and "归档封存" in letters[0]["reason"]
    t = wait_for(lambda: (lambda t: t["refusals"] and t)(timeline(rsuite, case_id)), message="refusal on the case")
    assert [e["event_type"] for e in t["entries"]] == ["case.opened", "evidence.recorded", "case.archived"]
    refusal = t["refusals"][0]
    assert refusal["event_id"] == late["event_id"] and refusal["content_kept"] and refusal["corrected_by_sequence"] is None
    listed = rsuite.get("/api/v1/records/refusals", supervisor(rsuite), params={"open": "1"}).json()["refusals"]
    assert [r["event_id"] for r in listed] == [late["event_id"]]
    assert rsuite.get("/api/v1/records/refusals", rsuite.token("officer", "320412")).status_code == 403

    body = {"reason": "送达回证归档时遗漏，经核实补录", "refused_event_id": late["event_id"]}
    assert rsuite.post(f"/api/v1/cases/{case_id}/corrections", body, rsuite.token("officer", "320412")).status_code == 403
    r = rsuite.post(f"/api/v1/cases/{case_id}/corrections", body, supervisor(rsuite, sub="sup-zhang"))
    assert r.status_code == 201, r.text
    correction = r.json()["correction"]
    assert correction["entry_kind"] == "correction" and correction["authorised_by"] == "sup-zhang"
    assert correction["corrects"]["refused_event_id"] == late["event_id"]
    assert correction["corrects"]["refusal_sequence"] == refusal["log_sequence"]
    assert correction["document_type"] == "proof_of_service"
    again = rsuite.post(f"/api/v1/cases/{case_id}/corrections", body, supervisor(rsuite))
    assert again.status_code == 409
    t = timeline(rsuite, case_id)
    assert [e["entry_kind"] for e in t["entries"]] == ["stage", "record", "archive", "correction"]
    assert t["refusals"][0]["corrected_by_sequence"] == correction["sequence"]
    # the earlier entries were not touched: their leaf hashes are unchanged
    assert t["entries"][0]["sequence"] < t["entries"][-1]["sequence"]


# ------------------------------------------------------------------------------ REC-6 access log
def test_rec6_every_read_is_logged_with_who_role_purpose_and_is_itself_in_the_log(rsuite):
    """REC-6: reads of a case's records are logged (who, role, purpose, when) as log entries that
    themselves have proofs; staff reads other than the timeline need a purpose; supervisors list them."""
    case_id = "320412-SCJG-ACC-1"
    rsuite.publish(ev.case_opened(case_id))
    wait_entries(rsuite, case_id, 1)
    officer = rsuite.token("officer", "320412", sub="officer-wang", bodies=["320412-SCJG"])
    assert rsuite.get(f"/api/v1/cases/{case_id}/timeline", officer, params={"purpose": "办理投诉 T-9"}).ok
    assert rsuite.get(f"/api/v1/cases/{case_id}/proofs", officer).status_code == 400   # no purpose
    assert rsuite.get(f"/api/v1/cases/{case_id}/proofs", officer, params={"purpose": "核验证据"}).ok
    accesses = rsuite.get("/api/v1/records/accesses", supervisor(rsuite), params={"case_id": case_id}).json()["accesses"]
    mine = [a for a in accesses if a["subject"] == "officer-wang"]
    assert [(a["view"], a["purpose"], a["role"]) for a in mine] == [("proof", "核验证据", "officer"),
                                                                    ("timeline", "办理投诉 T-9", "officer")]
    assert all(a["purpose_stated"] for a in mine)
    by_subject = rsuite.get("/api/v1/records/accesses", supervisor(rsuite),
                            params={"subject": "officer-wang"}).json()["accesses"]
    assert {a["sequence"] for a in by_subject} == {a["sequence"] for a in mine}
    assert rsuite.get("/api/v1/records/accesses", officer).status_code == 403
    # the access is an entry of the log: the public inclusion proof of its leaf hash verifies
    rsuite.post("/api/v1/admin/records/tree-heads", token=rsuite.token("admin", "320000"))
    proof = rsuite.get("/api/v1/public/records/inclusion", params={"leaf_hash": mine[0]["leaf_hash"]}).json()
    assert check(proof, public_key(rsuite))[0]
    # the timeline itself does not grow with reads
    assert len(timeline(rsuite, case_id)["entries"]) == 1


# ---------------------------------------------------------------------------------- attachments
def test_attachments_are_content_addressed_and_checked_on_download(rsuite, tmp_path):
    """Issue 3 §3: upload returns the SM3 hash of the bytes; evidence.recorded references it; the
    download is checked against the hash (a damaged file is refused) and logged."""
    data = "现场执法记录仪视频片段".encode() * 500
    officer = rsuite.token("officer", "320412", sub="officer-li", bodies=["320412-SCJG"])
    r = rsuite.post("/api/v1/records/blobs", None, officer, data=data, headers={"Content-Type": "video/mp4"})
    assert r.status_code == 201, r.text
    content_hash = r.json()["content_hash"]
    assert content_hash == hashlib.new("sm3", data).hexdigest()
    case_id = "320412-SCJG-BLOB-1"
    rsuite.publish(ev.case_opened(case_id))
    rsuite.publish(evidence(case_id, 1, content=data))
    t = wait_entries(rsuite, case_id, 2)
    assert t["entries"][1]["attachments"] == [{"content_hash": content_hash, "stored": True}]
    assert rsuite.get(f"/api/v1/records/blobs/{content_hash}", officer).status_code == 400
    got = rsuite.get(f"/api/v1/records/blobs/{content_hash}", officer, params={"purpose": "调取视频"})
    assert got.status_code == 200 and got.content == data and got.headers["X-Content-SM3"] == content_hash
    assert rsuite.get(f"/api/v1/records/blobs/{content_hash}", rsuite.token("officer", "320411"),
                      params={"purpose": "x"}).status_code == 404
    views = [a["view"] for a in rsuite.get("/api/v1/records/accesses", supervisor(rsuite),
                                           params={"case_id": case_id}).json()["accesses"]]
    assert "attachment" in views
    path = tmp_path / "blobs" / content_hash[:2] / content_hash[2:4] / content_hash
    path.write_bytes(data[:-1] + b"!")
    damaged = rsuite.get(f"/api/v1/records/blobs/{content_hash}", officer, params={"purpose": "调取视频"})
    assert damaged.status_code == 409 and damaged.json()["error"] == "corrupted"
    # issue 20: a 2.5 MiB attachment travels in 1 MiB chunks (records never holds it whole) and arrives intact
    big = bytes(range(256)) * 10240
    up = rsuite.post("/api/v1/records/blobs", None, officer, data=big, headers={"Content-Type": "video/mp4"})
    assert up.status_code == 201, up.text
    got = rsuite.get(f"/api/v1/records/blobs/{up.json()['content_hash']}", officer, params={"purpose": "调取视频"})
    assert got.status_code == 200 and got.content == big and int(got.headers["Content-Length"]) == len(big)


# ---------------------------------------------------------------------------- REC-3/REC-5 gaps
def test_rec3_missing_full_process_av_raises_gaps_found_and_later_record_closes_it(rsuite, sqlite_databases):
    """REC-3/REC-5/REC-7: a seizure without full-process audio-visual record is a serious gap at the
    decision; record.gaps_found is emitted, shows on the case, and a later record closes the gap."""
    case_id = "320412-SCJG-GAPS-1"
    opened = ev.case_opened(case_id)
    opened["payload"]["action_type"] = "coercive"
    rsuite.publish(opened)
    proposed = ev.decision_proposed(case_id)
    proposed["payload"].update(action_type="coercive", measures=["seizure"])
    rsuite.publish(proposed)
    rsuite.publish(evidence(case_id, 1, kind="text", document_type="onsite_record"))
    rsuite.publish(evidence(case_id, 2, av_form="photo", covers="seizure"))     # photos do not cover the process
    wait_entries(rsuite, case_id, 4)
    made = ev.decision_made(case_id)
    made["payload"]["action_type"] = "coercive"
    rsuite.publish(made)
    gaps = wait_for(lambda: outbox_events(sqlite_databases["records"], "record.gaps_found"), message="gaps event")
    payload = gaps[0]["payload"]
    assert gaps[0]["case_id"] == case_id and payload["trigger"] == "decision.made"
    assert "av_full_process:seizure" in payload["open_gap_codes"] and payload["mandatory_av_missing"]
    assert {g["code"] for g in payload["gaps"]} == set(payload["open_gap_codes"])
    assert all(g["stage"] in ("initiation", "investigation", "decision") for g in payload["gaps"])
    assert "measure_approval" in payload["open_gap_codes"]
    shown = rsuite.get(f"/api/v1/cases/{case_id}/gaps", supervisor(rsuite)).json()
    assert "av_full_process:seizure" in {g["code"] for g in shown["open_gaps"]}
    assert timeline(rsuite, case_id)["open_gaps"] == shown["open_gaps"]
    # the body-worn camera footage of the seizure is filed: the mandatory AV gap closes
    rsuite.publish(evidence(case_id, 3, av_form="body_worn_camera", covers="seizure"))
    later = wait_for(lambda: (lambda e: len(e) >= 2 and e)(outbox_events(sqlite_databases["records"],
                                                                         "record.gaps_found")),
                     message="second gaps event")
    assert "av_full_process:seizure" in later[1]["payload"]["closed_gap_codes"]
    assert "av_full_process:seizure" not in later[1]["payload"]["open_gap_codes"]
    # at archiving the whole file is evaluated (service and archiving stages too)
    rsuite.publish(archived(case_id))
    final = wait_for(lambda: (lambda e: len(e) >= 3 and e)(outbox_events(sqlite_databases["records"],
                                                                         "record.gaps_found")),
                     message="archive evaluation")
    assert final[2]["payload"]["trigger"] == "case.archived"
    assert {"proof_of_service", "closure_report"} <= set(final[2]["payload"]["open_gap_codes"])
    # on demand: nothing changed, no new event
    assert rsuite.post(f"/api/v1/cases/{case_id}/gaps/evaluate", None, supervisor(rsuite)).ok
    # the RPC answers after its transaction committed, outbox rows included: the count is final now
    assert len(outbox_events(sqlite_databases["records"], "record.gaps_found")) == 3


# ------------------------------------------------------------------------------- REC-8 erasure
def test_rec8_personal_data_erased_after_retention_and_every_proof_still_verifies(amqp_uri, sqlite_databases,
                                                                                  tmp_path):
    """REC-8: erasing the personal data of an archived case whose retention ended keeps every leaf
    hash, head, inclusion and consistency proof valid; before the end of retention it is refused."""
    with records_suite(amqp_uri, sqlite_databases, tmp_path, retention_days=0) as suite:
        party = ev.natural_party("钱七")
        case_id = "320412-SCJG-ERASE-1"
        suite.publish(ev.case_opened(case_id, party=party))
        suite.publish(ev.decision_made(case_id, party=party))
        wait_entries(suite, case_id, 2)
        other = "320412-SCJG-KEEP-1"
        suite.publish(ev.case_opened(other, party=party))
        wait_entries(suite, other, 1)
        admin = suite.token("admin", "320000", sub="admin-1")
        assert suite.post(f"/api/v1/admin/records/cases/{case_id}/erase-personal", {"basis": "保存期限届满"},
                          admin).status_code == 409            # not archived yet
        suite.publish(archived(case_id))
        wait_for(lambda: timeline(suite, case_id)["sealed"], message="sealed")
        before = timeline(suite, case_id)
        assert "钱七" in json.dumps(before, ensure_ascii=False)
        head_before = suite.post("/api/v1/admin/records/tree-heads", token=admin).json()
        key = public_key(suite)
        old_bundles = suite.get(f"/api/v1/cases/{case_id}/proofs", supervisor(suite), params=PURPOSE).json()["bundles"]

        r = suite.post(f"/api/v1/admin/records/cases/{case_id}/erase-personal", {"basis": "保存期限届满（测试配置0天）"},
                       admin)
        assert r.status_code == 200, r.text
        assert r.json()["erased_entries"] >= 3
        after = timeline(suite, case_id)
        text = json.dumps(after, ensure_ascii=False)
        assert "钱七" not in text and party["id_number"] not in text
        assert all(e["personal_erased"] for e in after["entries"] if e["event_type"] in ("case.opened",
                                                                                          "decision.made"))
        assert [e["leaf_hash"] for e in after["entries"]] == [e["leaf_hash"] for e in before["entries"]]
        head_after = suite.post("/api/v1/admin/records/tree-heads", token=admin).json()
        for bundle in old_bundles:                                 # proofs from before the erasure
            assert check(bundle, key)[0]
        for bundle in suite.get(f"/api/v1/cases/{case_id}/proofs", supervisor(suite), params=PURPOSE).json()["bundles"]:
            assert check(bundle, key)[0]                           # and after it
        consistency = suite.get("/api/v1/public/records/consistency", params={
            "old_size": head_before["tree_size"], "new_size": head_after["tree_size"]}).json()
        assert check(consistency, key)[0]
        from services.records.verify import verify_database

        report = verify_database(sqlite_databases["records"], key)
        assert report["ok"], (report["problems"], report["personal_data_mismatch"])
        # the party's other case keeps its data and stays findable
        found = suite.post("/api/v1/records/party-search", {"id_number": party["id_number"], "purpose": "核查"},
                           supervisor(suite)).json()
        assert [c["case_id"] for c in found["cases"]] == [other]


def test_rec8_erasure_refused_while_retention_runs(amqp_uri, sqlite_databases, tmp_path):
    with records_suite(amqp_uri, sqlite_databases, tmp_path) as suite:   # default: 30 years
        case_id = "320412-SCJG-ERASE-2"
        suite.publish(ev.case_opened(case_id))
        suite.publish(archived(case_id))
        wait_for(lambda: (lambda t: t and t["sealed"])(timeline(suite, case_id)), message="sealed")
        r = suite.post(f"/api/v1/admin/records/cases/{case_id}/erase-personal", {"basis": "申请删除"},
                       suite.token("admin", "320000"))
        assert r.status_code == 409 and r.json()["error"] == "retention_running"
        assert suite.post(f"/api/v1/admin/records/cases/{case_id}/erase-personal", {"basis": "申请删除"},
                          supervisor(suite)).status_code == 403


# --------------------------------------------------------------------------------- batching
def test_batch_with_duplicates_and_invalid_events_applies_each_valid_event_once(rsuite, sqlite_databases):
    """Batching done safely: invalid events are dead-lettered with their reason, duplicates (in the
    same batch or redelivered) are applied once, and entries get consecutive sequence numbers."""
    case_id = "320412-SCJG-BATCH-1"
    rsuite.publish(ev.case_opened(case_id))
    wait_entries(rsuite, case_id, 1)
    items = [evidence(case_id, n) for n in range(40)]
    bad = evidence(case_id, 99)
    bad["payload"]["content_hash"] = "XYZ"
    for i, item in enumerate(items):
        rsuite.publish(item)
        if i == 10:
            rsuite.publish(bad)
        if i % 7 == 0:
            rsuite.publish(item)        # duplicate delivery
    wait_entries(rsuite, case_id, 41)
    wait_until_drained(rsuite.amqp_uri, "records")     # the last duplicates are handled too (barrier, not sleep)
    t = timeline(rsuite, case_id)
    assert len(t["entries"]) == 41
    seqs = [e["sequence"] for e in t["entries"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 41
    letters = dead_letters(rsuite.amqp_uri, "records")
    assert len(letters) == 1 and bad["event_id"] in letters[0]["body"] and "content_hash" in letters[0]["reason"]
    # issue 17: nothing is published per batch (record.batch_appended had no subscriber)
    assert outbox_events(sqlite_databases["records"], "record.batch_appended") == []


# ---------------------------------------------------------------------------------- public page
@pytest.mark.browser
def test_verify_page_shows_heads_and_checks_a_leaf_hash_in_a_browser(rsuite, browser):
    """The public verification page (Chinese, phone width): signed heads, the public key, and a
    leaf-hash lookup that returns the inclusion proof — no console errors."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.fixtures import browser_errors

    rsuite.publish(ev.case_opened("320412-SCJG-PAGE-1"))
    t = wait_entries(rsuite, "320412-SCJG-PAGE-1", 1)
    rsuite.post("/api/v1/admin/records/tree-heads", token=rsuite.token("admin", "320000"))
    browser.get(rsuite.base_url + "/records/verify")
    assert "执法全过程记录核验" in browser.title
    assert browser.find_element(By.ID, "public-key").text == public_key(rsuite)
    assert "记录条数" in browser.page_source
    # issue 14: the last self-check with its time, and how much of the log the signed heads cover
    check = browser.find_element(By.ID, "self-check-result").text
    assert check.startswith("自检通过") and re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d:\d\d（北京时间）", check), check
    assert browser.find_element(By.ID, "coverage").text == "日志共 2 条记录。全部记录已被签名树头覆盖。"
    browser.find_element(By.ID, "leaf").send_keys(t["entries"][0]["leaf_hash"])
    browser.find_element(By.CSS_SELECTOR, "#inclusion-form button").click()
    WebDriverWait(browser, 10).until(lambda d: "该记录是日志的第 0 条" in d.find_element(By.ID, "result").text)
    browser.find_element(By.ID, "leaf").clear()
    browser.find_element(By.ID, "leaf").send_keys("ab" * 32)
    browser.find_element(By.CSS_SELECTOR, "#inclusion-form button").click()
    WebDriverWait(browser, 10).until(lambda d: "日志中没有该叶哈希" in d.find_element(By.ID, "result").text)
    assert [e for e in browser_errors(browser) if "404" not in e] == []


def test_rec7_metrics_count_entries_accesses_refusals_and_tree_size(rsuite):
    """REC-7 statistics: entries appended by region/body/kind, accesses by role, tree size."""
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    labels = {"region": "320412", "body": "320412-SCJG"}
    before = value("zhifa_records_entries_appended_total", kind="record", **labels)
    reads = value("zhifa_records_accesses_total", region="320412", role="supervisor", view="timeline")
    rsuite.publish(ev.case_opened("320412-SCJG-MET-1"))
    for n in range(3):
        rsuite.publish(evidence("320412-SCJG-MET-1", n))
    wait_entries(rsuite, "320412-SCJG-MET-1", 4)
    assert value("zhifa_records_entries_appended_total", kind="record", **labels) - before == 3
    assert value("zhifa_records_accesses_total", region="320412", role="supervisor", view="timeline") > reads
    assert value("zhifa_records_tree_size") >= 4
