"""Pure domain rules of the records service (执法全过程记录), REC-1…REC-8.

* ``merkle``       — SM3 Merkle log (RFC 9162 §2.1): roots, inclusion / consistency proofs (REC-4)
* ``entries``      — canonical entry bytes, sequence numbers, salted personal data (REC-8)
* ``treehead``     — Ed25519-signed tree heads 签名树头 (REC-4 电子认证)
* ``verify``       — whole-log verification locating the first tampered entry (REC-4, REC-5)
* ``selfcheck``    — is this tree consistent with the signed heads? (before signing, issue 14)
* ``bundles``      — proof bundles for auditors (``tools/audit_verify.py``)
* ``completeness`` — case-file completeness and audio-visual rules (REC-1, REC-2, REC-3, REC-5)

No I/O, no database, no messaging, no clock reads.
"""
from .bundles import consistency_bundle, inclusion_bundle
from .completeness import CaseFacts, Gap, GapKind, Severity, find_gaps, load_rules
from .entries import (EntryKind, RecordKind, SealedEntry, Stage, canonical_bytes, entry_bytes,
                      entry_leaf_hash, entry_sequence, make_entry, seal_personal, verify_personal)
from .merkle import (EMPTY_ROOT, MerkleLog, leaf_hash, node_hash, sm3, verify_consistency,
                     verify_inclusion)
from .treehead import (SignedTreeHead, TreeHead, generate_key, key_id, load_private_key,
                       load_public_key, sign_tree_head, verify_tree_head)
from .selfcheck import Inconsistency, InconsistencyKind, SelfCheckResult, check_head, self_check
from .verify import Problem, ProblemKind, VerificationReport, verify_log

__all__ = [
    "consistency_bundle", "inclusion_bundle",
    "CaseFacts", "Gap", "GapKind", "Severity", "find_gaps", "load_rules",
    "EntryKind", "RecordKind", "SealedEntry", "Stage", "canonical_bytes", "entry_bytes",
    "entry_leaf_hash", "entry_sequence", "make_entry", "seal_personal", "verify_personal",
    "EMPTY_ROOT", "MerkleLog", "leaf_hash", "node_hash", "sm3", "verify_consistency", "verify_inclusion",
    "SignedTreeHead", "TreeHead", "generate_key", "key_id", "load_private_key", "load_public_key",
    "sign_tree_head", "verify_tree_head",
    "Inconsistency", "InconsistencyKind", "SelfCheckResult", "check_head", "self_check",
    "Problem", "ProblemKind", "VerificationReport", "verify_log",
]
