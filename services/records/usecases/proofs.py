"""签名树头 and proofs (REC-4): inclusion of an entry (or a leaf hash) and consistency between heads,
against signed tree heads; the heads and the public key to pin; the public verification page; the
leased timer that signs a head when entries were appended, runs the self-check and refreshes the gauges.
Proofs of case records are reads: logged (REC-6)."""
from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter

from services.common.db import utcnow
from services.common.scope import Scope
from services.records import config, store
from services.records import metrics as rec_metrics
from services.records.domain.bundles import consistency_bundle, inclusion_bundle
from services.records.domain.merkle import verify_consistency
from services.records.ledger import LogIntegrityError, head_from_row

from .access import error, log_access, logged_read

log = logging.getLogger(__name__)


def head_covering(db, ledger, size_needed: int):
    """The latest signed head if it covers ``size_needed`` entries, else a new head signed now (in an
    appending transaction of its own: the proof read itself takes no append lock)."""
    with db.session() as session:
        latest = ledger.latest_head(session)
    if latest is not None and latest.tree_size >= size_needed:
        return latest
    with ledger.appending(db) as session:
        latest = ledger.latest_head(session)
        if latest is None or latest.tree_size < size_needed:
            latest = ledger.sign_head(session, "proof")
    return latest


def bundle(tree, row, head, with_entry=True):
    return inclusion_bundle(tree, row.sequence, head, row.canonical.encode("utf-8") if with_entry else None)


def inclusion_proof(db, ledger, sequence, scope, accessor, tree_size=None):
    """Inclusion bundle of one entry (with its canonical public part) against a signed head."""
    scope = Scope.of(scope)
    with db.session() as session:
        row = store.entry(session, sequence)
        if row is None or not scope.covers(row.region_code, row.body_id):
            return None
    head = None if tree_size is not None else head_covering(db, ledger, row.sequence + 1)
    with logged_read(db, ledger) as (session, reads), ledger.proving(session) as tree:
        if tree_size is not None:
            found = store.head_row_of_size(session, tree_size)
            head = head_from_row(found) if found is not None else None
        if head is None or head.tree_size <= row.sequence:
            return error(404, "no_tree_head", f"没有覆盖序号 {sequence} 的条目数为 {tree_size} 的签名树头")
        try:
            answer = bundle(tree, row, head)
        except ValueError as exc:
            return error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")
        case = store.case(session, row.case_id) if row.case_id else None
        if case is not None:
            log_access(reads, case, accessor, "proof", sequence=row.sequence)
        return answer


def case_proofs(db, ledger, case_id, scope, accessor):
    """Inclusion bundles of every entry of a case against one signed tree head (covering the whole log
    as it stands when asked)."""
    scope = Scope.of(scope)
    with db.session() as session:
        case = store.case(session, case_id)
        if case is None or not scope.covers(case.region_code, case.body_id):
            return None
        last = store.last_sequence(session)
    head = head_covering(db, ledger, 0 if last is None else last + 1)
    with logged_read(db, ledger) as (session, reads), ledger.proving(session) as tree:
        case = store.case(session, case_id)
        rows = store.case_entries(session, case_id)
        try:
            bundles = [bundle(tree, r, head) for r in rows if r.sequence < head.tree_size]
        except ValueError as exc:
            return error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")
        log_access(reads, case, accessor, "proof", entries=len(bundles))
        return {"case_id": case_id, "tree_head": head.to_json(), "bundles": bundles}


def public_inclusion(db, ledger, leaf_hash):
    """The inclusion proof of a leaf hash (no entry content) against the latest signed head."""
    leaf_hash = str(leaf_hash).lower()
    ledger.refuse_while_failed()
    with db.session() as session, ledger.proving(session) as tree:
        row = store.first_entry_with_leaf(session, leaf_hash)
        if row is None:
            return None
        head = ledger.latest_head(session)
        if head is None or head.tree_size <= row.sequence:
            return error(409, "not_yet_signed", "该条目尚未被签名树头覆盖，请稍后再试")
        try:
            return bundle(tree, row, head, with_entry=False)
        except ValueError as exc:
            return error(409, "log_inconsistent", f"日志与签名树头不一致：{exc}")


def consistency_proof(db, ledger, old_size, new_size=None):
    """Proof that the head of ``new_size`` extends the head of ``old_size`` (append-only)."""
    ledger.refuse_while_failed()
    with db.session() as session, ledger.proving(session) as tree:
        old = store.head_row_of_size(session, old_size)
        if new_size is None:
            newest = store.newest_head_rows(session, 1)
            new = newest[0] if newest else None
        else:
            new = store.head_row_of_size(session, new_size)
        if old is None or new is None:
            return error(404, "no_tree_head", "没有该条目数的签名树头")
        if old.tree_size > new.tree_size:
            return error(422, "bad_range", "old_size 不能大于 new_size")
        try:
            return consistency_bundle(tree, head_from_row(old), head_from_row(new))
        except ValueError as exc:
            return error(409, "log_inconsistent", f"日志与签名树头不一致，请运行核验：{exc}")


def tree_heads(db, ledger, limit=20, latest_only=False, consistency=False) -> dict:
    """Signed tree heads, newest first, and the public key to pin; ``consistency``: with a consistency
    proof from each head to the newest (``"type": "tree_heads"``, checked by tools/audit_verify.py)."""
    count = 1 if latest_only else max(1, min(int(limit), 500))
    signer = config.signer()
    out = {"log_id": config.log_id(), "algorithm": signer.algorithm, "public_key": signer.public_key_bytes().hex()}
    if not consistency:
        with db.session() as session:
            return {**out, "tree_heads": [head_from_row(r).to_json() for r in store.newest_head_rows(session, count)]}
    ledger.refuse_while_failed()
    with db.session() as session, ledger.proving(session) as tree:
        heads = [head_from_row(r) for r in store.newest_head_rows(session, count)]
        newest = heads[0].tree_size if heads else 0
        proofs = []
        for h in heads[1:]:
            proof = tree.consistency_proof(h.tree_size, newest)
            if not verify_consistency(h.tree_size, newest, h.root_hash, heads[0].root_hash, proof):
                raise LogIntegrityError(f"stored hashes do not prove head {newest} extends head {h.tree_size}")
            proofs.append({"old_size": h.tree_size, "new_size": newest, "proof": [p.hex() for p in proof]})
    return {"type": "tree_heads", **out, "tree_heads": [h.to_json() for h in heads], "consistency": proofs}


def verification_status(db, ledger, limit=5) -> dict:
    """The latest signed heads and the public key, the log's size and the entries no signed head covers
    yet (未被签名树头覆盖), and the result of the last self-check: a failure found within the last hour
    by any replica wins over a later success of another, whose in-memory tree may not have seen the
    rewrite yet."""
    heads = tree_heads(db, ledger, limit)
    with db.session() as session:
        last = store.last_sequence(session)
        checks = store.recent_self_checks(session, 50)
    size = 0 if last is None else last + 1
    newest = heads["tree_heads"][0]["tree_size"] if heads["tree_heads"] else 0
    recent = utcnow() - dt.timedelta(hours=1)
    failing = [c for c in checks if not c.ok and store.aware(c.checked_at) >= recent]
    shown = failing[0] if failing else (checks[0] if checks else None)
    return {**heads, "tree_size": size,
            "unsigned": {"first_sequence": newest, "last_sequence": size - 1, "count": size - newest}
            if size > newest else None,
            "self_check": None if shown is None else {
                "ok": shown.ok, "checked_at": store.iso(shown.checked_at), "trigger": shown.trigger,
                "tree_size": shown.tree_size, "heads_checked": shown.heads_checked,
                "newest_head_size": shown.newest_head_size, "summary": shown.summary,
                "range": [shown.first_sequence, shown.last_sequence] if shown.first_sequence is not None
                else None}}


def sign_tree_head(db, ledger):
    """Sign a head for the current tree (admin / operations)."""
    with ledger.appending(db) as session:
        if not ledger.size:
            return None
        return ledger.sign_head(session, "on_demand").to_json()


def sign_due_head(db, ledger) -> None:
    """The timer's pass (under its lease): sign a tree head when entries were appended and the configured
    interval has passed since the last head; the tree and head gauges."""
    try:
        # the first use after start rebuilds the tree and checks it against every head; every
        # signature is preceded by a check against the newest head (Ledger.sign_head)
        with ledger.appending(db) as session:
            latest = ledger.latest_head(session)
            size = ledger.size
            due = latest is None or (latest.tree_size < size and
                                     time.time() - latest.head.timestamp / 1000 >= config.tree_head_interval())
            if size and due:
                latest = ledger.sign_head(session, "timer")
            rec_metrics.TREE_SIZE.set(size)
            if latest is not None:
                rec_metrics.HEAD_AGE.set(max(0.0, time.time() - latest.head.timestamp / 1000))
                rec_metrics.HEAD_SIZE.set(latest.tree_size)
    except LogIntegrityError as exc:       # logged when found; the gauge and the alert say the rest
        log.warning("records: tree head not signed: %s", exc)


def refresh_gap_gauges(session) -> None:
    """Open gaps by region, body and severity, and cases with gaps (a scan of the open cases)."""
    gaps, cases = Counter(), Counter()
    for region, body, open_gaps in store.open_gaps_by_case(session):
        if not open_gaps:
            continue
        cases[(region, body)] += 1
        for gap in open_gaps:
            gaps[(region, body, gap.get("severity") or "serious")] += 1
    rec_metrics.GAPS_OPEN.clear()
    rec_metrics.CASES_WITH_GAPS.clear()
    for (region, body, severity), n in gaps.items():
        rec_metrics.GAPS_OPEN.labels(region, body, severity).set(n)
    for (region, body), n in cases.items():
        rec_metrics.CASES_WITH_GAPS.labels(region, body).set(n)
