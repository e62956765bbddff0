"""Issue 14 — the records service's tamper evidence on the real broker and PostgreSQL (REC-4, REC-5):

* defect 3: an insider rewrites an entry and recomputes its stored leaf hash; at the next start the
  service signs nothing, refuses appends (the event waits, nothing is lost) and says which range is
  inconsistent; the auditor script rejects a head signed over the rewritten log;
* defect 4: an entry moved to another case or region, its kind or body changed in the index columns,
  an archived case un-sealed — ``verify`` names each;
* defect 5: entries after the newest signed head are reported "未被签名树头覆盖" — by ``verify_log``, the
  CLI and the /records/verify page, which also shows the last self-check and its time.
"""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from contextlib import contextmanager

import psycopg
import pytest

from services.records.domain.merkle import MerkleLog, leaf_hash
from services.records.domain.treehead import TreeHead, sign_tree_head
from tests.fixtures import ROOT_DIR, dead_letters, running_suite, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration
KEY_SEED = "5" * 64
AUDIT = [sys.executable, str(ROOT_DIR / "tools" / "audit_verify.py")]


@contextmanager
def suite_on(amqp_uri, url, tmp_path, **extra):
    from nameko import config

    patch = {"ZHIFA_RECORDS_BLOB_DIR": str(tmp_path / "blobs"), "ZHIFA_RECORDS_STH_INTERVAL": 3600,
             "ZHIFA_RECORDS_SIGNING_KEY": KEY_SEED, "ZHIFA_RECORDS_SELF_CHECK_RETRY": 1, **extra}
    with config.patch(patch, clear=False):
        with running_suite(amqp_uri, {"records": url}, tmp_path, services=["records", "gateway"]) as suite:
            yield suite


def sql(url, query, *args):
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(query, args)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def log_size(url):
    return sql(url, "SELECT count(*) FROM log_entries")[0][0]


def entries_of(url, case_id):
    return sql(url, "SELECT count(*) FROM log_entries WHERE case_id = %s AND entry_kind <> 'access'", case_id)[0][0]


def head_sizes(url):
    return [r[0] for r in sql(url, "SELECT tree_size FROM tree_heads ORDER BY tree_size")]


def admin(suite):
    return suite.token("admin", "320000")


def audit(doc, tmp_path, key, *extra):
    path = tmp_path / "heads.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([*AUDIT, str(path), "--public-key", key, *extra], capture_output=True, text=True,
                         timeout=60)
    return run.returncode, run.stdout + run.stderr


def test_rec4_issue14_rewritten_and_rehashed_entry_stops_signing_and_the_auditor_rejects_later_heads(
        amqp_uri, pg_admin, tmp_path):
    """REC-4, issue 14 defect 3. Before the fix the restarted service rebuilt its tree from the stored
    leaf hashes and signed a new head over the rewritten log, which the auditor accepted. Now: no head
    is signed, the new event is not appended but waits (no dead letter), the page names the range;
    a head signed over the rewrite (what the old code did) is rejected by tools/audit_verify.py
    against the earlier heads; once the entry is restored the event is appended and signing resumes."""
    url = pg_admin()
    case_id = "320412-SCJG-INTEG-1"
    with suite_on(amqp_uri, url, tmp_path) as suite:
        suite.publish(ev.case_opened(case_id))
        for n in range(5):
            suite.publish(ev.evidence(case_id, n=n))
        wait_for(lambda: entries_of(url, case_id) == 6, message="6 entries")
        first = suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).json()
        for n in range(5, 8):
            suite.publish(ev.evidence(case_id, n=n))
        wait_for(lambda: entries_of(url, case_id) == 9, message="9 entries")
        second = suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).json()
        key = suite.get("/api/v1/public/records/tree-head").json()["public_key"]
        served = suite.get("/api/v1/public/records/tree-heads", params={"consistency": 1}).json()
        code, out = audit(served, tmp_path, key)
        assert code == 0 and "consistent with the newest" in out, out
    kept = tmp_path / "kept-heads.json"                # the auditor keeps what it downloaded
    kept.write_text(json.dumps(served), encoding="utf-8")
    assert head_sizes(url) == [first["tree_size"], second["tree_size"]] == [6, 9]

    # the insider: entry 3 rewritten (another device) and its stored leaf hash recomputed
    [(original, original_leaf)] = sql(url, "SELECT canonical, leaf_hash FROM log_entries WHERE sequence = 3")
    forged = original.replace('"DSJ-V9"', '"DSJ-X1"', 1)
    assert forged != original
    sql(url, "UPDATE log_entries SET canonical = %s, leaf_hash = %s WHERE sequence = 3",
        forged, leaf_hash(forged.encode()).hex())

    with suite_on(amqp_uri, url, tmp_path) as suite:
        late = ev.evidence(case_id, n=20)
        suite.publish(late)
        failed = wait_for(lambda: sql(url, "SELECT first_sequence, last_sequence, summary FROM self_checks "
                                           "WHERE NOT ok"), timeout=30, message="a failed self-check")
        assert failed[0][:2] == (0, 5)               # entry 3 lies before the first head (size 6)
        signed = suite.post("/api/v1/admin/records/tree-heads", token=admin(suite))
        assert signed.status_code == 503 and signed.json()["error"] == "log_integrity", signed.text
        assert "序号 0 至 5" in signed.json()["message"]
        timeline = suite.get(f"/api/v1/cases/{case_id}/timeline", suite.token("supervisor", "320400"))
        assert timeline.status_code == 503             # a read would append an access entry
        page = suite.get("/records/verify").text
        assert "自检未通过" in page and "序号 0 至 5" in page
        assert head_sizes(url) == [6, 9] and log_size(url) == 9      # nothing signed, nothing appended
        assert dead_letters(amqp_uri, "records") == []               # the event waits, it is not refused

        # what the service did before the fix: a head over the rewritten log, signed with the real key
        leaves = [bytes.fromhex(r[0]) for r in sql(url, "SELECT leaf_hash FROM log_entries ORDER BY sequence")]
        rewritten = MerkleLog.from_leaf_hashes(leaves)
        laundered = sign_tree_head(TreeHead(9, rewritten.root(9), second["timestamp"] + 1000, "records.zhifa"),
                                   KEY_SEED)
        doc = {"type": "tree_heads", "tree_heads": [laundered.to_json(), first],
               "consistency": [{"old_size": 6, "new_size": 9,
                                "proof": [p.hex() for p in rewritten.consistency_proof(6, 9)]}]}
        code, out = audit(doc, tmp_path, key)
        assert code == 1 and "NOT consistent with the earlier signed head of size 6" in out, out
        code, out = audit(doc, tmp_path, key, "--known-heads", str(kept))
        assert code == 1 and "known head of size 9 has another root" in out, out

        # repaired from the backup: the waiting event is appended, heads are signed again
        sql(url, "UPDATE log_entries SET canonical = %s, leaf_hash = %s WHERE sequence = 3", original, original_leaf)
        wait_for(lambda: entries_of(url, case_id) == 10, timeout=60, message="the waiting event appended")
        resumed = suite.post("/api/v1/admin/records/tree-heads", token=admin(suite))
        assert resumed.status_code == 201 and resumed.json()["tree_size"] == log_size(url)
        served = suite.get("/api/v1/public/records/tree-heads", params={"consistency": 1}).json()
        code, out = audit(served, tmp_path, key, "--known-heads", str(kept))
        assert code == 0, out
        assert "自检通过" in suite.get("/records/verify").text
        assert dead_letters(amqp_uri, "records") == []


def verify_cli(url, key):
    run = subprocess.run([sys.executable, "-m", "services.records.verify", "--db", url, "--public-key", key],
                         capture_output=True, text=True, cwd=ROOT_DIR, timeout=120)
    return run.returncode, run.stdout


def test_rec4_issue14_moved_entry_changed_kind_and_unsealed_case_are_named_by_verify(amqp_uri, pg_admin, tmp_path):
    """REC-4/REC-5, issue 14 defect 4: the leaf commits to case, region, body and kind, and the archive
    entry to the seal — but the service reads the index columns and the case row. Before the fix
    ``verify`` checked the canonical entries only and passed all of these; now it names each (and
    passes again once undone). Shown first: what a moved entry does to the timelines."""
    url = pg_admin()
    owner, other = "320412-SCJG-BIND-1", "320412-SCJG-BIND-2"
    with suite_on(amqp_uri, url, tmp_path) as suite:
        key = suite.get("/api/v1/public/records/tree-head").json()["public_key"]
        for case_id in (owner, other):
            suite.publish(ev.case_opened(case_id))
            suite.publish(ev.evidence(case_id, n=1))
        wait_for(lambda: entries_of(url, owner) == 2 and entries_of(url, other) == 2, message="both cases")
        suite.publish(ev.envelope("case.archived", {"archived_at": dt.datetime.now(ev.CHINA).isoformat(),
                                                    "archive_no": "归档-2026-014"}, owner))
        wait_for(lambda: sql(url, "SELECT sealed FROM cases WHERE case_id = %s", owner) == [(True,)],
                 message="archived")
        assert suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).status_code == 201
        code, out = verify_cli(url, key)
        assert code == 0 and out.startswith("OK:"), out
        [(seq,)] = sql(url, "SELECT sequence FROM log_entries WHERE case_id = %s AND event_type = "
                            "'evidence.recorded'", owner)

        # 1. the entry moved to the other case: the other case's timeline now shows it
        sql(url, "UPDATE log_entries SET case_id = %s WHERE sequence = %s", other, seq)
        timeline = suite.get(f"/api/v1/cases/{other}/timeline", suite.token("supervisor", "320400")).json()
        assert seq in [e["sequence"] for e in timeline["entries"]]
        code, out = verify_cli(url, key)
        assert code == 1 and f"sequence {seq}: index_mismatch" in out and "case_id" in out, out
        sql(url, "UPDATE log_entries SET case_id = %s WHERE sequence = %s", owner, seq)

        # 2. moved to another region (who may read it), 3. given another kind and body
        for column, value in (("region_code", "320411"), ("entry_kind", "access"), ("body_id", "320411-GAJ")):
            [(before,)] = sql(url, f"SELECT {column} FROM log_entries WHERE sequence = %s", seq)
            sql(url, f"UPDATE log_entries SET {column} = %s WHERE sequence = %s", value, seq)
            code, out = verify_cli(url, key)
            assert code == 1 and f"sequence {seq}: index_mismatch" in out and column in out, (column, out)
            sql(url, f"UPDATE log_entries SET {column} = %s WHERE sequence = %s", before, seq)

        # 4. the archived case un-sealed: its next record would be accepted instead of refused
        [(archive_seq,)] = sql(url, "SELECT sequence FROM log_entries WHERE case_id = %s AND entry_kind = 'archive'",
                               owner)
        sql(url, "UPDATE cases SET sealed = false WHERE case_id = %s", owner)
        code, out = verify_cli(url, key)
        assert code == 1 and f"sequence {archive_seq}: case_seal_mismatch" in out and "解除封存" in out, out
        sql(url, "UPDATE cases SET sealed = true WHERE case_id = %s", owner)

        # 5. the case moved to another region (who may read its timeline)
        sql(url, "UPDATE cases SET region_code = '320411' WHERE case_id = %s", owner)
        code, out = verify_cli(url, key)
        assert code == 1 and "case_owner_mismatch" in out, out
        sql(url, "UPDATE cases SET region_code = '320412' WHERE case_id = %s", owner)

        code, out = verify_cli(url, key)
        assert code == 0, out


def test_rec4_issue14_unsigned_tail_is_reported_not_covered_by_verify_and_the_page(amqp_uri, pg_admin, tmp_path):
    """Issue 14 defect 5: entries appended after the newest signed head were reported "核验通过" by
    ``verify_log`` and the CLI, and the /records/verify page reported no result at all. Now: the CLI
    says UNSIGNED TAIL with the range "未被签名树头覆盖" (exit 0: not an error), the page shows the range
    and the last self-check with its time; after a new head everything is "核验通过"."""
    url = pg_admin()
    case_id = "320412-SCJG-TAIL-1"
    with suite_on(amqp_uri, url, tmp_path) as suite:
        key = suite.get("/api/v1/public/records/tree-head").json()["public_key"]
        suite.publish(ev.case_opened(case_id))
        suite.publish(ev.evidence(case_id, n=1))
        wait_for(lambda: entries_of(url, case_id) == 2, message="2 entries")
        assert suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).json()["tree_size"] == 2
        for n in range(2, 5):
            suite.publish(ev.evidence(case_id, n=n))
        wait_for(lambda: log_size(url) == 5, message="3 more entries")
        code, out = verify_cli(url, key)
        assert code == 0 and out.startswith("UNSIGNED TAIL:"), out
        assert "序号 2 至 4 共 3 条未被签名树头覆盖" in out and "核验通过" not in out
        page = suite.get("/records/verify").text
        assert "日志共 5 条记录" in page and "序号 2 至 4 共 3 条未被签名树头覆盖" in page
        [(checked_at,)] = sql(url, "SELECT checked_at FROM self_checks WHERE ok ORDER BY checked_at DESC LIMIT 1")
        from services.common.formats import datetime_zh            # the last self-check and its time,
        assert "自检通过" in page and f"（{datetime_zh(checked_at, seconds=True)}）" in page   # 北京时间
        assert suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).json()["tree_size"] == 5
        code, out = verify_cli(url, key)
        assert code == 0 and out.startswith("OK: 核验通过"), out
        assert "全部记录已被签名树头覆盖" in suite.get("/records/verify").text


def test_rec4_issue14_running_service_notices_a_rewritten_unsigned_entry_and_stops_signing(
        amqp_uri, pg_admin, tmp_path):
    """REC-4, issue 14: entries after the newest head have no signature yet. The running service's
    periodic self-check compares the stored leaf hashes with the ones it appended: a rewrite of such
    an entry (content and stored hash) stops signing at once instead of being signed at the next head."""
    url = pg_admin()
    case_id = "320412-SCJG-INTEG-2"
    with suite_on(amqp_uri, url, tmp_path, ZHIFA_RECORDS_SELF_CHECK_INTERVAL=1) as suite:
        suite.publish(ev.case_opened(case_id))
        suite.publish(ev.evidence(case_id, n=1))
        wait_for(lambda: entries_of(url, case_id) == 2, message="2 entries")
        assert suite.post("/api/v1/admin/records/tree-heads", token=admin(suite)).json()["tree_size"] == 2
        suite.publish(ev.evidence(case_id, n=2))
        wait_for(lambda: log_size(url) == 3, message="an entry after the head")
        [(original, original_leaf)] = sql(url, "SELECT canonical, leaf_hash FROM log_entries WHERE sequence = 2")
        forged = original.replace('"DSJ-V9"', '"DSJ-X1"', 1)
        sql(url, "UPDATE log_entries SET canonical = %s, leaf_hash = %s WHERE sequence = 2",
            forged, leaf_hash(forged.encode()).hex())
        failed = wait_for(lambda: sql(url, "SELECT first_sequence, last_sequence, problems FROM self_checks "
                                           "WHERE NOT ok"), timeout=30, message="a failed periodic self-check")
        assert failed[0][:2] == (2, 2) and failed[0][2][0]["kind"] == "leaves_changed"
        signed = suite.post("/api/v1/admin/records/tree-heads", token=admin(suite))
        assert signed.status_code == 503 and head_sizes(url) == [2]
        sql(url, "UPDATE log_entries SET canonical = %s, leaf_hash = %s WHERE sequence = 2", original, original_leaf)
        signed = wait_for(lambda: (lambda r: r.status_code == 201 and r)(
            suite.post("/api/v1/admin/records/tree-heads", token=admin(suite))), timeout=30, message="signing again")
        assert signed.json()["tree_size"] == 3
