"""Pure rules of the complaints service (投诉举报) — REQUIREMENTS CMP-1…CMP-9, COORD-1, EVAL-7.

No I/O besides reading the rule files in ``config/complaints/`` (by functions that take a path), no
database, no messaging, no clock: ``today``/``at`` and the working-day calendar are passed in.

Modules:
- :mod:`.model`      — Complaint, Complainant, Subject, BodyRef, Channel, BodyKind, ComplaintFlags
- :mod:`.register`   — register number 登记编号, query code 查询码, duplicate detection (CMP-2)
- :mod:`.acceptance` — acceptance review 受理审查 and not-accepted decisions (CMP-3, CMP-4, CMP-8)
- :mod:`.routing`    — handling unit 办理机关 (CMP-8)
- :mod:`.directory`  — the handling unit's id and name from the rule files and the body directory (CMP-8)
- :mod:`.deadlines`  — acknowledgement/handling periods, extension, warnings, escalation (CMP-3, CMP-9)
- :mod:`.lifecycle`  — state machine with history, transfer 转办, escalation 上报 (CMP-4, COORD-1, EVAL-7)
- :mod:`.views`      — public / body / handler projections, accountability clues 责任倒查 (CMP-5), CMP-6 report
- :mod:`.channels`   — published channels 投诉举报渠道 (CMP-1)
- :mod:`.supervision` — province supervision register 省级督办台账 and transfer orders 上级交办 (COORD-4)
"""
from .acceptance import (TAG_PRIVATE_ENTERPRISE, AcceptanceRules, Assessment, NotAccepted, OutOfScopeCategory,
                         ReasonRequired, assess, decide_not_accepted, load_acceptance_rules)
from .channels import ChannelDirectory, ChannelInfo, Hotline, PostalAddress, channels_for, load_channels
from .config import ConfigError
from .deadlines import (DeadlineRules, EscalationStep, Extension, ExtensionError, HandlingPeriod, WarningLevel,
                        acknowledgement_deadline, escalation_steps, handling_period,
                        load_deadline_rules, warning_level)
from .lifecycle import (ComplaintRecord, EventKind, Handler, HistoryEvent, Status, TransitionError, TRANSITIONS)
from .model import (CHINA_TZ, BodyKind, BodyRef, Channel, Complainant, Complaint, ComplaintFlags, Subject)
from .register import (DuplicateCandidate, DuplicateMatch, DuplicateRules, InvalidRegisterNumber, RegisterNumber,
                       find_duplicate, format_register_number, hash_query_code,
                       issue_query_code, load_duplicate_rules, new_query_code, parse_register_number, similarity,
                       verify_query_code)
from .supervision import (EscalationNotice, OrderRefused, SuperiorOrder, SupervisionEntry, TransferOrder,
                          order_transfer, receive_conclusion, receive_escalation, validate_order)
from .routing import Route, RouteTarget, RoutingError, RoutingRules, complained_bodies, load_routing_rules, route
from .views import (Clue, EnterpriseReport, accountability_clues, body_view, enterprise_report, handler_view,
                    public_status, query_status, redact_identity)

__all__ = [name for name in dir() if not name.startswith("_")]
