"""Recompute the whole records log from its database and name the first entry that was altered,
deleted, inserted or reordered (REC-4, REC-5) — docs/records-verification.md §8.

    python -m services.records.verify --db postgresql://…/records --public-key <64 hex | PEM file>
                                      [--log-id records.zhifa] [--json]

Reads ``log_entries`` in sequence order (canonical bytes and stored leaf hashes) and every signed
tree head, and runs ``domain.verify.verify_log``: leaf hashes recomputed, sequence numbers
0, 1, 2, … checked, every head's signature checked against the PINNED key and its root
recomputed, every head checked against the newest. ``verify_bindings`` then checks the columns the
service acts on against what the leaves commit to: each entry's index columns (case, region, body,
kind, …), each case's seal state and owner, the personal data's case (issue 14). It also checks the
retained personal data against the salted commitments in the log (REC-8). Entries after the newest
signed head are reported as not covered (未被签名树头覆盖): output ``UNSIGNED TAIL: …``, not ``OK``.
Exit code 0 when no problem was found (whether or not a tail is unsigned), 1 when a problem was
found, 2 on a usage error.
Without ``--public-key`` the key of the local configuration is used and the report says so (an
auditor must pin the published key).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.db import make_engine
from services.records.domain.verify import UNSIGNED_LABEL, verify_bindings, verify_log
from services.records.ledger import head_from_row
from services.records.models import Case, LogEntry, PersonalData, TreeHeadRow

# index columns of log_entries checked against the canonical entry (domain.verify.INDEX_FIELDS but covers,
# which lives in ``details``)
INDEX_COLUMNS = ("entry_kind", "case_id", "region_code", "body_id", "stage", "record_kind", "document_type",
                 "event_id", "event_type", "occurred_at", "content_hash")


def _key(text: str) -> str:
    path = Path(text)
    if len(text) != 64 and path.exists():
        return path.read_text(encoding="ascii")
    return text


def verify_database(url: str, public_key: str | list[str], log_id: str | None = None) -> dict:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            rows = session.execute(select(LogEntry.sequence, LogEntry.canonical, LogEntry.leaf_hash,
                                          *[getattr(LogEntry, c) for c in INDEX_COLUMNS], LogEntry.details)
                                   .order_by(LogEntry.sequence)).all()
            heads = [head_from_row(r) for r in session.scalars(select(TreeHeadRow).order_by(TreeHeadRow.tree_size))]
            personal = session.execute(select(PersonalData.sequence, PersonalData.salt, PersonalData.data,
                                              PersonalData.case_id)).all()
            cases = [{"case_id": c, "region_code": r, "body_id": b, "sealed": s, "archived_at": a}
                     for c, r, b, s, a in session.execute(select(Case.case_id, Case.region_code, Case.body_id,
                                                                 Case.sealed, Case.archived_at))]
    finally:
        engine.dispose()
    entries = [r[1].encode("utf-8") for r in rows]
    stored = b"".join(bytes.fromhex(r[2]) for r in rows)
    keys = [_key(k) for k in public_key] if isinstance(public_key, (list, tuple)) else _key(public_key)
    report = verify_log(entries, stored, heads, keys, log_id=log_id)
    # issue 14: the columns the service acts on against what the leaves commit to
    report.add(verify_bindings(
        ((r[0], r[1], {**dict(zip(INDEX_COLUMNS, r[3:3 + len(INDEX_COLUMNS)])),
                       "covers": (r[-1] or {}).get("covers")}) for r in rows),
        cases, ((seq, case_id) for seq, _, _, case_id in personal)))
    by_seq = {r[0]: r[1] for r in rows}
    bad_personal = []
    from services.records.domain.entries import verify_personal

    for seq, salt, data, _ in personal:
        if data is None:
            continue
        canonical = by_seq.get(seq)
        if canonical is None or not salt or not verify_personal(json.loads(canonical), bytes.fromhex(salt), data):
            bad_personal.append(seq)
    problems = [{"kind": p.kind.value, "label": p.kind.label, "sequence": p.sequence,
                 "last_sequence": p.last_sequence, "tree_size": p.tree_size, "detail": p.detail}
                for p in report.problems]
    first = report.first
    ok = report.ok and not bad_personal
    return {
        "ok": ok, "status": report.status if ok else "failed",
        "entries": report.entry_count, "heads_checked": report.heads_checked, "heads_verified": report.heads_verified,
        "signed_size": report.signed_size,
        "unsigned_tail": {"first_sequence": report.signed_size, "last_sequence": report.entry_count - 1,
                          "count": report.unsigned_count, "label": UNSIGNED_LABEL} if report.unsigned_count else None,
        "summary": report.summary(),
        "first_problem": None if first is None else {"kind": first.kind.value, "label": first.kind.label,
                                                     "sequence": first.sequence, "detail": first.detail},
        "problems": problems,
        "personal_data_mismatch": bad_personal,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m services.records.verify", description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="database URL of the records service (default: its configured database)")
    ap.add_argument("--public-key", action="append",
                    help="the log's published public key: Ed25519 (64 hex digits) or SM2 (130 hex digits, 04…), or "
                         "a PEM file; repeat it for the keys of earlier heads (a rotation, an algorithm switch)")
    ap.add_argument("--log-id", help="expected log id of the tree heads")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--witnessed", help="also compare with the heads the province witnessed of this log (the URL "
                                        "of its /api/v1/public/records/witnessed-heads?log_id=… or a saved copy): "
                                        "the restore procedure, docs/RUNBOOK.md#restore-from-backup")
    args = ap.parse_args(argv)
    from services.common import settings
    from services.records import config

    url = args.db or settings.database_url("records")
    notes = []
    keys = [_key(k).strip() for k in args.public_key or []]
    if not keys:
        keys = config.trusted_public_keys()
        notes.append(f"public keys taken from the local configuration ({', '.join(keys)}), not pinned by you")
    key = keys if len(keys) > 1 else keys[0]
    try:
        result = verify_database(url, key, args.log_id)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["notes"] = notes
    if args.witnessed:
        from sqlalchemy import select as sql_select

        from services.records.witness_verify import compare, load_witnessed

        engine = make_engine(url, pool_size=1)     # the suite's driver (psycopg) for postgresql:// URLs
        try:
            with engine.connect() as conn:
                leaves = b"".join(bytes.fromhex(h) for h in conn.execute(
                    sql_select(LogEntry.leaf_hash).order_by(LogEntry.sequence)).scalars())
        finally:
            engine.dispose()
        keys = keys + [k for k in config.previous_public_keys() if k not in keys]
        result["witnessed"] = compare(leaves, load_witnessed(args.witnessed), keys, args.log_id or config.log_id())
        result["ok"] = result["ok"] and result["witnessed"]["ok"]
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        if result["ok"] and result["unsigned_tail"]:
            # not an error, and not "verified": nothing but the stored hashes vouches for these yet
            print(f"UNSIGNED TAIL: {result['summary']}")
        elif result["ok"]:
            print(f"OK: {result['summary']}")
        else:
            first = result["first_problem"]
            if first is not None:
                print(f"FAILED: first problem at sequence {first['sequence']}: {first['kind']} ({first['label']}) — "
                      f"{first['detail']}")
            for p in result["problems"]:
                print(f"  problem: {p['kind']} sequence={p['sequence']} {p['detail']}")
            if result["personal_data_mismatch"]:
                print(f"FAILED: personal data no longer matches its commitment at sequences "
                      f"{result['personal_data_mismatch'][:20]}")
        witnessed = result.get("witnessed")
        if witnessed is not None:
            if witnessed["ok"]:
                print(f"WITNESSED OK: consistent with {witnessed['witnessed_heads_checked']} heads the province "
                      f"witnessed (largest {witnessed['largest_witnessed_size']})")
            else:
                print(f"WITNESSED FAILED: the log ({witnessed['log_size']} entries) contradicts heads the province "
                      f"witnessed; entries lost: {witnessed['entries_lost']}")
                for p in witnessed["problems"]:
                    print(f"  witnessed: {p['kind']} size={p['tree_size']} {p['detail']}")
        for note in notes:
            print(f"note: {note}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
