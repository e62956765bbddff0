"""Compare a records log with the heads the province witnessed of it (restore procedure, issue 23).

    zhifa records verify --witnessed https://province.example/api/v1/public/records/witnessed-heads?log_id=records.320400
    zhifa records verify --witnessed witnessed-320400.json

After a restore from backup the log must still be consistent with every head the province witnessed:
for each witnessed head (accepted on the province's chain) the log must have the same root at that
size. A head covering more entries than the restored log means entries were lost (条目缺失); another
root means history differs (根哈希不符). Uses the self-check's ``check_head`` with the pinned key.
"""
from __future__ import annotations

import json
from pathlib import Path

from services.records.domain.merkle import MerkleLog
from services.records.domain.selfcheck import check_head
from services.records.domain.treehead import SignedTreeHead, algorithm_of_key, verifier_for


def load_witnessed(source: str) -> list[dict]:
    """The province's witnessed heads (the JSON of GET /api/v1/public/records/witnessed-heads)."""
    if source.startswith(("http://", "https://")):
        import requests

        response = requests.get(source, timeout=30)
        response.raise_for_status()
        data = response.json()
    else:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    heads = data["heads"] if isinstance(data, dict) else data
    return [h for h in heads if h.get("status", "accepted") == "accepted"]


def compare(leaf_hashes: bytes, witnessed: list[dict], public_keys: list[str], log_id: str | None) -> dict:
    """Problems of the log (its stored leaf hashes) against the witnessed heads."""
    tree = MerkleLog.from_leaf_hashes(leaf_hashes)
    verifiers = [verifier_for(k) for k in public_keys]
    problems, checked = [], 0
    for item in sorted(witnessed, key=lambda h: h["tree_size"]):
        if log_id and item["log_id"] != log_id:
            continue
        head = SignedTreeHead.from_json({**item, "algorithm": item.get("algorithm")
                                         or algorithm_of_key(bytes.fromhex(item["public_key"]))})
        checked += 1
        finding = check_head(tree, head, verifiers=verifiers)
        if finding is not None:
            problems.append({**finding.to_json(), "witnessed_received_at": item.get("received_at")})
    largest = max((h["tree_size"] for h in witnessed), default=0)
    return {"ok": not problems, "witnessed_heads_checked": checked, "log_size": tree.size,
            "largest_witnessed_size": largest, "entries_lost": max(0, largest - tree.size), "problems": problems}
