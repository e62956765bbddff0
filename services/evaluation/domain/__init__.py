"""Evaluation domain (评议考核、责任追究) — pure rules, no I/O: REQUIREMENTS EVAL-1…EVAL-9, COORD-4.

Modules:
- ``facts``          Fact (考核事实) with the source event id; known fact kinds.
- ``indicators``     the indicator system per subject, tier and year (config/evaluation/indicators.yaml).
- ``scoring``        score_body / score_officer → per-indicator scores with evidence (event ids).
- ``grades``         grades 优秀/合格/不合格, vetoes (一票否决), caps, consequences (结果运用).
- ``evaluators``     who evaluates whom (config/evaluation/evaluators.yaml).
- ``accountability`` accountability cases (责任追究) and supervision items (监督建议/专项调查/整改).
- ``rules``          problem-detection rules (config/evaluation/rules.yaml) → clues.
- ``received``       final grades received from the cities over the upward link, per city (PLAT-1).
- ``evidence``       the facts behind an indicator's score, as the evidence view lists them (EVAL-2).
- ``officers``       certificate validity on a day (PLAT-3), reviewer staffing ratio (REV-7).
- ``year_start``     what stands on 1 January: the staffing snapshot carried from an earlier year.
"""
from .accountability import (AccountabilityCase, AccountabilityError, ClueSource, ExemptionGround, Flag,
                             ItemStatus, OutOfScopeError, Outcome, Sanction, SanctionKind, Stage,
                             SupervisionItem, SupervisionKind, deadline_flag, issue_supervision_item,
                             open_case, open_case_from_fact,
                             rectification_from_consequence)
from .evaluators import (BodyInfo, Evaluator, EvaluatorKind, Management, Role, combine_scores,
                         evaluators_for, evaluators_for_officer)
from .facts import FACT_KINDS, Fact, make_fact, select_facts, validate_fact
from .grades import (Consequence, ConsequenceKind, Grade, GradeCap, GradeResult, Subject, SubjectKind,
                     assign_grade, caps_in_force, consequences)
from .indicators import IndicatorConfig, IndicatorConfigError, IndicatorSet, parse_indicator_config
from .received import ReceivedGrade, by_city, supersedes
from .rules import Clue, detect, open_case_from_clue, parse_rules
from .due_process import GAP_KINDS, GapReport, GapStatus, counts_against_officer, gap_status
from .grades import INSUFFICIENT
from .years import FutureYearError, check_year, months_with_facts, year_status
from .scoring import BodyScore, IndicatorScore, OfficerScore, SubjectScore, score_body, score_officer

__all__ = [name for name in dir() if not name.startswith("_")]
