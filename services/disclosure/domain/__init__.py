"""Pure rules of the disclosure service (行政执法公示制度) — DISC-1 … DISC-9, PLAT-4.

No I/O beyond reading the YAML rule files under ``config/disclosure/``; no clock reads; no
database, messaging or nameko. Modules:

- :mod:`.model` — vocabulary (ActionType, Secrecy, Party, Decision) and ``decision_from_payload``;
- :mod:`.deadlines` — publication deadlines and timeliness (DISC-3);
- :mod:`.redaction` — masking personal data, secrecy handling, ``assert_no_personal_data`` (DISC-4);
- :mod:`.conclusions` — conclusion types (处理结果类型);
- :mod:`.publication` — publish / correct / withdraw with history (DISC-5, DISC-6);
- :mod:`.annual` — annual statistics report (DISC-7);
- :mod:`.random_inspection` — verifiable "双随机、一公开" draw and monthly results (DISC-8);
- :mod:`.before` — versioned before-information, stale powers, certificate check, QR (DISC-1, DISC-2, PLAT-4).
"""
from .annual import (AnnualReport, DecisionRecord, annual_report_due, annual_report_timeliness,
                     build_annual_report, render_annual_report)
from .before import (CertificateEvent, CertificateState, CredentialStatus, ItemKind, OfficerPublic, PowerEntry,
                     in_force, officer_public_record, stale_powers, verify_certificate)
from .deadlines import (PublicationStatus, PublicationTiming, WarningLevel, needs_recompute, publication_deadline,
                        publication_status)
from .model import ActionType, Decision, IdType, Party, PartyKind, Secrecy, decision_from_payload
from .publication import InvalidTransition, Publication, PublicationState, WithdrawalReason, link_remade
from .random_inspection import (DrawAnnouncement, DrawInputs, DrawResult, announce_draw, draw,
                                monthly_results_summary, perform_draw, verify_draw)
from .redaction import (Outcome, PersonalDataLeak, PublicEntry, RedactionResult, assert_no_personal_data,
                        mask_name, redact_decision, redact_text)

__all__ = [
    "ActionType", "AnnualReport", "CertificateEvent", "CertificateState", "CredentialStatus",
    "Decision", "DecisionRecord", "DrawAnnouncement", "DrawInputs", "DrawResult", "IdType", "InvalidTransition",
    "ItemKind", "OfficerPublic", "Outcome", "Party", "PartyKind", "PersonalDataLeak", "PowerEntry", "PublicEntry",
    "Publication", "PublicationState", "PublicationStatus", "PublicationTiming", "RedactionResult", "Secrecy",
    "WarningLevel", "WithdrawalReason", "announce_draw", "annual_report_due", "annual_report_timeliness", "assert_no_personal_data",
    "build_annual_report", "decision_from_payload", "draw", "in_force", "link_remade", "mask_name",
    "monthly_results_summary", "needs_recompute", "officer_public_record", "perform_draw", "publication_deadline",
    "publication_status", "redact_decision", "redact_text", "render_annual_report", "stale_powers", "verify_certificate",
    "verify_draw",
]
