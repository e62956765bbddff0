"""Legal-review routes (法制审核, REV): a reviewer's whole review, sign-off, coordination, the gate,
violations and staffing for supervisors. Scope (PLAT-1) is checked again by the review service."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import HttpError, endpoint, read_json
from services.gateway.schemas import (ReviewCoordinationRequest, ReviewDecisionRequest, ReviewDisagreementRequest,
                                      ReviewFindingsRequest, ReviewSignOffRequest)

TASK_READERS = ("legal_reviewer", "responsible_person", "officer", "supervisor", "admin")


def actor(identity) -> dict:
    """The caller as the review service sees it: who, in which role, and the scope it acts in (SEC-2)."""
    return {"subject": identity.subject, "role": identity.role, "region_code": identity.region_code,
            "kind": identity.kind, "scope": identity.scope.as_dict()}


def answered(result):
    """The review service answers refusals as {"error", "status", "message"}."""
    if isinstance(result, dict) and result.get("error"):
        raise HttpError(result.get("status", 409), result["error"], result["message"])
    return result


class ReviewRoutes:
    # -- tasks (REV-3 … REV-7) -------------------------------------------------------------------
    @endpoint("GET", "/api/v1/review/tasks", roles=TASK_READERS, tags=("review",),
              summary="Legal review tasks in the caller's scope; ?assigned=me, ?status=pending|overdue|<state> (REV-4)")
    def review_tasks(self, request, identity):
        args = request.args
        tasks = answered(call(self.review, "list_tasks", actor(identity), args.get("status"), args.get("assigned"),
                              args.get("body_id"), args.get("case_id")))
        return {"tasks": tasks}

    @endpoint("GET", "/api/v1/review/tasks/<task_id>", roles=TASK_READERS, tags=("review",),
              summary="One review task: proposal, fired rules, checklist with pre-checks, versions, history (REV-3, REV-6)")
    def review_task(self, request, identity, task_id):
        return answered(call(self.review, "get_task", task_id, actor(identity)))

    @endpoint("GET", "/api/v1/review/tasks/<task_id>/assistance", roles=TASK_READERS, tags=("review",),
              summary="Assistance for the proposed decision (REV-8): legal articles and discretion benchmark, a draft "
                      "decision document from the templates, similar published decisions of the matter and the "
                      "distribution of their fines")
    def review_assistance(self, request, identity, task_id):
        """Review answers for the task in the caller's scope (404 otherwise) before disclosure is asked; the
        similar decisions are disclosure's published (public, redacted) entries."""
        help_ = answered(call(self.review, "assistance", task_id, actor(identity)))
        query = help_.pop("similar_query")
        help_["similar"] = answered(call(self.disclosure, "similar_decisions", query["matter_code"], query["facts"],
                                         query["fine_amount"], query["exclude_case_id"], 5))
        return help_

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/checks", roles=("legal_reviewer",), tags=("review",),
              body=ReviewFindingsRequest, summary="Record findings on checklist items (REV-3)")
    def review_checks(self, request, identity, task_id):
        data = read_json(request, ReviewFindingsRequest)
        return answered(call(self.review, "record_findings", task_id, actor(identity), data["checks"]))

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/opinion", roles=("legal_reviewer",), tags=("review",),
              body=ReviewDecisionRequest, summary="Written review opinion: approve, or problems with corrections (REV-4)")
    def review_opinion(self, request, identity, task_id):
        data = read_json(request, ReviewDecisionRequest)
        corrections = data["corrections"] or data["problems"]
        if data["opinion"] == "problems" and not corrections:
            raise HttpError(422, "invalid", "请求内容有误", {"corrections": ["审核意见为存在问题的，须列明需要纠正的问题"]})
        if data["opinion"] == "approve" and corrections:
            raise HttpError(422, "invalid", "请求内容有误", {"corrections": ["同意的审核意见不列纠正事项"]})
        if data.get("approver_id"):
            raise HttpError(422, "invalid", "请求内容有误",
                            {"approver_id": ["负责人签署须由负责人本人办理（POST …/sign-off），审核人员不能代签"]})
        return answered(call(self.review, "give_opinion", task_id, actor(identity), data["opinion"], corrections,
                             data.get("text"), data["checks"]))

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/sign-off", roles=("responsible_person",),
              tags=("review",), body=ReviewSignOffRequest,
              summary="The body's responsible person (负责人) signs off the review, or refuses with reasons; "
                      "the approver recorded is the signed-in responsible person (REV-6)")
    def review_sign_off(self, request, identity, task_id):
        data = read_json(request, ReviewSignOffRequest)
        if not data["approve"] and not data["reasons"]:
            raise HttpError(422, "invalid", "请求内容有误", {"reasons": ["不同意的，须列明理由和需要纠正的问题"]})
        return answered(call(self.review, "sign", task_id, actor(identity), data["approve"], data["note"],
                             data["reasons"]))

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/disagreement", roles=("officer", "department"),
              tags=("review",), body=ReviewDisagreementRequest,
              summary="Handling unit disagrees with a returned opinion: coordination (REV-5)")
    def review_disagreement(self, request, identity, task_id):
        data = read_json(request, ReviewDisagreementRequest)
        return answered(call(self.review, "disagree", task_id, actor(identity), data["position"],
                             data.get("raised_by")))

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/coordination", roles=("supervisor",), tags=("review",),
              body=ReviewCoordinationRequest, summary="Coordination outcome of a disagreement (REV-5)")
    def review_coordination(self, request, identity, task_id):
        data = read_json(request, ReviewCoordinationRequest)
        if data["outcome"] == "partial" and not data["corrections_kept"]:
            raise HttpError(422, "invalid", "请求内容有误", {"corrections_kept": ["部分采纳的，须列明仍需纠正的问题"]})
        return answered(call(self.review, "coordinate", task_id, actor(identity), data["outcome"], data["note"],
                             data["corrections_kept"]))

    # -- gate (REV-2) ------------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/review/gate", roles=("department", "officer", "supervisor"), tags=("review",),
              summary="May this decision be made? (REV-2 pre-decision check)")
    def review_gate(self, request, identity):
        case_id, version = request.args.get("case_id"), request.args.get("version", type=int)
        if not case_id or not version:
            raise HttpError(422, "invalid", "请求内容有误", {"case_id": ["必填"], "version": ["必填，整数"]})
        answer = call(self.review, "may_decide", case_id, version, actor(identity))
        if answer is None:
            raise HttpError(404, "not_found", f"案件 {case_id} 未报送拟作出的决定或不在您的管辖范围内")
        return answer

    # -- supervisors' view: violations (REV-2, REV-7) and staffing (REV-7) --------------------------
    @endpoint("GET", "/api/v1/review/violations", roles=("supervisor", "admin"), tags=("review",),
              summary="Review violations in scope: 应审未审, 审核未通过仍作出决定, 审核人员不足 (REV-2, REV-7)")
    def review_violations(self, request, identity):
        args = request.args
        return {"violations": call(self.review, "list_violations", actor(identity), args.get("kind"),
                                   args.get("open") in ("1", "true"), args.get("body_id"))}

    @endpoint("GET", "/api/v1/review/staffing", roles=("supervisor", "admin"), tags=("review",),
              summary="Legal reviewers against 5% of officers, per body in scope (REV-7)")
    def review_staffing(self, request, identity):
        return {"bodies": call(self.review, "staffing", actor(identity))}
