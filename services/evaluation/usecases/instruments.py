"""Evaluation instruments (EVAL-2, issue 18): surveys and evaluation cards answered on a public page with a
one-time code, and unannounced-visit (暗访) reports by supervisors. Each answer or report is one fact of the
body, with its own event as evidence (outbox, same transaction), scored by the configured indicators
(SATISFACTION: ``survey_rating``; SPECIAL_CHECK: ``unannounced_visit_score`` — config/evaluation/indicators.yaml).
"""
from __future__ import annotations

import datetime as dt
import json
import secrets

from services.common.db import emit
from services.common.scope import Scope
from services.evaluation import store, workflow
from services.evaluation.domain import instruments as rules
from services.evaluation.models import SurveyRow, VisitReport
from services.evaluation.workflow import WorkflowError

from .grading import subject_of
from .shared import today_in_china


class InvalidRequest(WorkflowError):
    """422 with the Chinese message of each field."""

    def __init__(self, error: rules.InstrumentError):
        super().__init__(422, "invalid", error.message)
        self.fields = error.fields

    def as_json(self) -> dict:
        return {**super().as_json(), "fields": self.fields}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _draw_code() -> str:
    return "".join(secrets.choice(rules.CODE_ALPHABET) for _ in range(rules.CODE_LENGTH))


def create_survey(db, scope, actor: str, data: dict) -> dict:
    """A survey or an evaluation card about a body in the caller's scope, with its answer codes — shown this
    once (only their hashes are kept): the supervisor prints or hands them out."""
    today = today_in_china()
    data = dict(data)
    for key in ("opens_on", "closes_on"):
        if isinstance(data.get(key), str):
            data[key] = dt.date.fromisoformat(data[key])
    try:
        spec = rules.survey_spec(data, today)
    except rules.InstrumentError as exc:
        raise InvalidRequest(exc) from None
    codes: set[str] = set()
    while len(codes) < spec.codes:
        codes.add(_draw_code())
    with db.session() as session:
        info = subject_of(session, scope, "body", spec.body_id, today.year)   # 404 outside the scope
        survey_id = workflow.new_id("SV" if spec.kind == "survey" else "PK", today)
        store.add_survey(session, SurveyRow(
            survey_id=survey_id, kind=spec.kind, region_code=info.region_code, body_id=info.body_id,
            title=spec.title, questions=json.dumps(list(spec.questions), ensure_ascii=False), case_id=spec.case_id,
            officer_id=spec.officer_id, opens_on=spec.opens_on, closes_on=spec.closes_on, codes_issued=spec.codes,
            created_by=actor, created_at=_now()), [rules.code_hash(c) for c in codes])
    return {"survey_id": survey_id, "kind": spec.kind, "body_id": info.body_id, "title": spec.title,
            "opens_on": spec.opens_on.isoformat(), "closes_on": spec.closes_on.isoformat(),
            "questions": list(spec.questions), "codes": sorted(rules.format_code(c) for c in codes),
            "answer_page": "/evaluation/survey"}


def list_surveys(db, scope, body_id=None) -> list[dict]:
    with db.session() as session:
        rows = store.surveys_in_scope(session, Scope.of(scope), body_id)
    return [{"survey_id": r.survey_id, "kind": r.kind, "kind_zh": rules.KINDS[r.kind], "body_id": r.body_id,
             "title": r.title, "opens_on": r.opens_on.isoformat(), "closes_on": r.closes_on.isoformat(),
             "codes_issued": r.codes_issued, "answers": n,
             "average": None if avg is None else f"{avg:.2f}"} for r, n, avg in rows]


def _survey_for(session, code: str, today: dt.date):
    """The survey of an unused code open today, else WorkflowError (one message for unknown and used codes:
    a code's existence is not revealed)."""
    if not rules.looks_like_code(code):
        raise WorkflowError(404, "unknown_code", "答卷码无效或已使用")
    found = store.survey_by_code(session, rules.code_hash(code))
    if found is None or found[1].used_at is not None:
        raise WorkflowError(404, "unknown_code", "答卷码无效或已使用")
    survey, _ = found
    closed = rules.open_on(survey.opens_on, survey.closes_on, today)
    if closed:
        raise WorkflowError(409, "closed", closed)
    return survey


def _public(session, survey: SurveyRow) -> dict:
    from services.evaluation.models import BodyEntry

    body = session.get(BodyEntry, survey.body_id)
    return {"kind": survey.kind, "kind_zh": rules.KINDS[survey.kind], "title": survey.title,
            "body_name": (body.name if body is not None and body.name else survey.body_id),
            "closes_on": survey.closes_on.isoformat(), "questions": json.loads(survey.questions),
            "ratings": [{"value": v, "name": n} for v, n in rules.RATING_NAMES.items()]}


def open_survey(db, code: str) -> dict:
    """Public: what a code opens (the survey's questions), without using the code."""
    with db.session() as session:
        return _public(session, _survey_for(session, code, today_in_china()))


def answer_survey(db, code: str, answers: dict, comment: str | None = None) -> dict:
    """Public: one answer per code. The code is marked used, the answer and its ``survey_rating`` fact written
    and ``evaluation.survey_answered`` put in the outbox in one transaction; a second answer with the code —
    even at the same moment — is refused."""
    today = today_in_china()
    comment = (comment or "").strip()[:500] or None
    with db.session() as session:
        survey = _survey_for(session, code, today)
        questions = json.loads(survey.questions)
        try:
            ratings = rules.ratings_of(questions, answers or {})
        except rules.InstrumentError as exc:
            raise InvalidRequest(exc) from None
        now = _now()
        if not store.use_code(session, rules.code_hash(code), now):
            raise WorkflowError(404, "unknown_code", "答卷码无效或已使用")
        average = rules.average(ratings)
        event_id = emit(session, "evaluation.survey_answered", {
            "survey_id": survey.survey_id, "kind": survey.kind, "ratings": ratings, "average": average,
            "answered_on": today, "officer_id": survey.officer_id},
            region_code=survey.region_code, body_id=survey.body_id, case_id=survey.case_id)
        store.add_survey_answer(session, event_id, survey, ratings, average, comment, now, today)
        title = survey.title
    return {"answered": True, "title": title, "average": str(average)}


def report_visit(db, scope, actor: str, data: dict) -> dict:
    """A supervisor's unannounced-visit report about a body in scope: a fact scored by SPECIAL_CHECK."""
    today = today_in_china()
    data = dict(data)
    if isinstance(data.get("visited_on"), str):
        data["visited_on"] = dt.date.fromisoformat(data["visited_on"])
    try:
        spec = rules.visit_spec(data, today)
    except rules.InstrumentError as exc:
        raise InvalidRequest(exc) from None
    with db.session() as session:
        info = subject_of(session, scope, "body", spec.body_id, spec.visited_on.year)
        evaluator = workflow.entered_by(info, data.get("evaluator"), "unannounced_visit_score")   # EVAL-1
        event_id = emit(session, "evaluation.visit_reported", {
            "visited_on": spec.visited_on, "place": spec.place, "score": spec.score, "problems": list(spec.problems),
            "visited_by": actor, "evaluator": evaluator}, region_code=info.region_code, body_id=info.body_id)
        store.add_visit(session, VisitReport(
            event_id=event_id, region_code=info.region_code, body_id=info.body_id, visited_on=spec.visited_on,
            place=spec.place, findings=spec.findings, problems=json.dumps(list(spec.problems), ensure_ascii=False),
            score=float(spec.score), visited_by=actor, evaluator=evaluator, recorded_at=_now()))
    return {"event_id": event_id, "body_id": info.body_id, "visited_on": spec.visited_on.isoformat(),
            "score": str(spec.score), "evaluator": evaluator}


def list_visits(db, scope, body_id=None) -> list[dict]:
    with db.session() as session:
        rows = store.visits_in_scope(session, Scope.of(scope), body_id)
    return [{"event_id": r.event_id, "body_id": r.body_id, "visited_on": r.visited_on.isoformat(), "place": r.place,
             "findings": r.findings, "problems": json.loads(r.problems), "score": f"{r.score:.2f}",
             "visited_by": r.visited_by, "evaluator": r.evaluator} for r in rows]
