"""Legal review of major enforcement decisions (重大执法决定法制审核) — pure domain rules.

REQUIREMENTS REV-1 … REV-8, COORD-3, PLAT-3. No I/O: the rule files are read by
services/review/configuration.py and checked with the schemas here (``CatalogueFile``, ``ChecklistFile``,
``BenchmarksFile``; ``parse_*`` for plain data).

- :mod:`.model`      — :class:`Proposal` (拟作出的决定) and :func:`proposal_from_payload`
- :mod:`.catalogue`  — review catalogue (目录清单) and :func:`classify` (REV-1)
- :mod:`.checklist`  — the eight review checks and automatic pre-checks (REV-3, PLAT-3, COORD-3)
- :mod:`.tasks`      — review task / opinion state machine, due dates, reviewer assignment (REV-4…REV-7)
- :mod:`.gate`       — :func:`may_decide` and :func:`detect_bypass` (REV-2)
- :mod:`.staffing`   — the 5% reviewer rule (REV-7)
- :mod:`.assistance` — discretion benchmarks and legal articles (REV-8)
"""
from .assistance import (BenchmarkAdvice, BenchmarkError, BenchmarkRange, LegalArticle, MatterBenchmark,
                         BenchmarksFile, benchmark_advice, parse_benchmarks)
from .catalogue import (Catalogue, CatalogueError, CatalogueFile, Classification, FiredRule, Rule, classify,
                        parse_catalogue)
from .checklist import (CHECKS, CertificateEvent, CheckResult, ChecklistConfig, ChecklistConfigError, Outcome,
                        PowerEntry, TransferThreshold, certificate_status_at, check_body_lawful,
                        check_crime_transfer, check_documents_complete, check_law_discretion,
                        check_officers_at_actions,
                        check_officers_qualified, check_procedure, check_within_authority, ChecklistFile,
                        manual_check, parse_checklist_config, run_prechecks, transfer_suggested)
from .drafts import Draft, DraftsFile, DraftTemplate, draft_context, parse_drafts, render_draft
from .gate import GateAnswer, Violation, ViolationKind, detect_bypass, may_decide
from .model import Flags, Party, PartyKind, Proposal, proposal_from_payload
from .staffing import Staffing, reviewer_staffing
from .tasks import (REVIEW_TASK_WORKING_DAYS, Assignment, CheckFinding, ChecklistItem, Coordination,
                    CoordinationOutcome, DueLevel, approval_blockers, checklist, record_finding, update_prechecks,
                    InvalidTransition, NoReviewerAvailable, Opinion, OpinionKind, ReviewTask, ReviewVersion, Reviewer,
                    TaskState, Transition, VersionStatus, assign_reviewer, decide_coordination, due_level,
                    open_task, raise_disagreement, reassign_reviewer, record_opinion, refuse_sign_off, resubmit,
                    review_due, sign_off, start_review, task_due_level)

__all__ = [name for name in dir() if not name.startswith("_")]
