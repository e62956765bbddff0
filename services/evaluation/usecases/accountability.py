"""Accountability cases (责任追究案件, EVAL-6), consequences of grades (结果运用, EVAL-4) and supervision
items (监督事项, COORD-4): each in one transaction, in the caller's scope (SEC-2); the decisions are
``workflow.py``'s and the domain's."""
from __future__ import annotations

from services.common.scope import Scope
from services.evaluation import store, workflow

from .shared import today_in_china


def list_consequences(db, scope, year=None, status=None) -> dict:
    today = today_in_china()
    with db.session() as session:
        return {"consequences": [workflow.consequence_json(r, today)
                                 for r in store.consequences_in(session, Scope.of(scope), year, status)]}


def resolve_consequence(db, scope, consequence_id, actor, resolution) -> dict:
    with db.session() as session:
        return workflow.resolve_consequence(session, Scope.of(scope), int(consequence_id), actor, resolution,
                                            today_in_china())


def list_cases(db, scope, status=None, body_id=None) -> dict:
    with db.session() as session:
        return {"cases": [workflow.case_json(r, full=False)
                          for r in store.cases_in(session, Scope.of(scope), status, body_id)]}


def get_case(db, scope, case_id) -> dict:
    with db.session() as session:
        return workflow.case_json(workflow.get_case(session, Scope.of(scope), case_id))


def open_case(db, scope, actor, data) -> dict:
    with db.session() as session:
        return workflow.open_case_by_hand(session, Scope.of(scope), actor, data)


def case_action(db, scope, case_id, actor, action, data) -> dict:
    with db.session() as session:
        return workflow.case_action(session, Scope.of(scope), case_id, actor, action, data or {})


def list_items(db, scope, status=None, overdue=False) -> dict:
    with db.session() as session:
        return {"items": workflow.list_items(session, Scope.of(scope), today_in_china(), status, bool(overdue))}


def issue_item(db, scope, actor, data) -> dict:
    with db.session() as session:
        return workflow.issue_item(session, Scope.of(scope), actor, data, today_in_china())


def item_action(db, identity, item_id, action, data) -> dict:
    with db.session() as session:
        return workflow.item_action(session, identity, item_id, action, data or {}, today_in_china())
