"""Proof bundles 证明包 served to parties, supervisors and auditors — REC-4, REC-6.

The JSON shapes checked by ``tools/audit_verify.py`` and documented in
docs/records-verification.md. Pure: the caller passes the log, the signed head and the entry.
"""
from __future__ import annotations

from typing import Any, Mapping

from .entries import canonical_bytes
from .merkle import MerkleLog, leaf_hash, verify_consistency, verify_inclusion
from .treehead import SignedTreeHead

__all__ = ["inclusion_bundle", "consistency_bundle"]


def inclusion_bundle(log: MerkleLog, index: int, head: SignedTreeHead, entry: bytes | None = None,
                     personal: tuple[bytes, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Inclusion bundle of entry ``index`` against the signed ``head``.

    ``entry``: canonical entry bytes (included as the ``entry`` string so the auditor recomputes
    the leaf hash; checked against the log). ``personal``: ``(salt, personal_data)`` to let the
    holder prove the personal part (REC-8) — only hand it to the data subject or a supervisor.
    """
    size = head.tree_size
    if size > log.size:
        raise ValueError(f"tree head of size {size} is beyond the log ({log.size})")
    root = log.root(size)
    if root != head.root_hash:
        raise ValueError("signed tree head does not match the log")
    leaf = log.leaf_hash(index)
    proof = log.inclusion_proof(index, size)
    if not verify_inclusion(leaf, index, size, proof, root):   # a log computed from stored hashes (issue 20)
        raise ValueError(f"the inclusion proof of leaf {index} does not verify against the head")
    bundle: dict[str, Any] = {
        "type": "inclusion",
        "index": index,
        "tree_size": size,
        "leaf_hash": leaf.hex(),
        "root_hash": root.hex(),
        "proof": [p.hex() for p in proof],
        "tree_head": head.to_json(),
    }
    if entry is not None:
        if leaf_hash(entry) != leaf:
            raise ValueError(f"entry bytes do not hash to leaf {index}")
        bundle["entry"] = entry.decode("utf-8")
    if personal is not None:
        salt, data = personal
        canonical_bytes(data)  # validates
        bundle["personal"] = {"salt": bytes(salt).hex(), "data": dict(data)}
    return bundle


def consistency_bundle(log: MerkleLog, old_head: SignedTreeHead, new_head: SignedTreeHead) -> dict[str, Any]:
    """Consistency bundle proving ``new_head``'s log extends ``old_head``'s (append-only)."""
    m, n = old_head.tree_size, new_head.tree_size
    if not 0 <= m <= n <= log.size:
        raise ValueError(f"need 0 <= {m} <= {n} <= {log.size}")
    if log.root(m) != old_head.root_hash or log.root(n) != new_head.root_hash:
        raise ValueError("signed tree heads do not match the log")
    proof = log.consistency_proof(m, n)
    if not verify_consistency(m, n, old_head.root_hash, new_head.root_hash, proof):
        raise ValueError(f"the consistency proof from {m} to {n} does not verify")
    return {
        "type": "consistency",
        "old_size": m,
        "new_size": n,
        "old_root": old_head.root_hash.hex(),
        "new_root": new_head.root_hash.hex(),
        "proof": [p.hex() for p in proof],
        "old_tree_head": old_head.to_json(),
        "new_tree_head": new_head.to_json(),
    }
