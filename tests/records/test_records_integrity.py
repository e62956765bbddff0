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
    case_id = "320412-INTEG-1"
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
