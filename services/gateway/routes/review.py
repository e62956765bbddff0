"""Legal-review routes (法制审核, REV)."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import HttpError, endpoint, read_json
from services.gateway.schemas import ReviewOpinionRequest


class ReviewRoutes:
    # -- review (REV) ---------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/review/tasks", roles=("legal_reviewer", "supervisor", "admin"), tags=("review",),
              summary="Legal review tasks in the caller's scope (REV-2)")
    def review_tasks(self, request, identity):
        return {"tasks": call(self.review, "list_tasks", identity.region_code, request.args.get("status"))}

    @endpoint("POST", "/api/v1/review/tasks/<task_id>/opinion", roles=("legal_reviewer",), tags=("review",),
              body=ReviewOpinionRequest, summary="Record the written review opinion (REV-4, REV-6)")
    def review_opinion(self, request, identity, task_id):
        data = read_json(request, ReviewOpinionRequest)
        if data["opinion"] == "problems" and not data["problems"]:
            raise HttpError(422, "invalid", "请求内容有误", {"problems": ["审核未通过须列明存在的问题"]})
        result = call(self.review, "submit_opinion", task_id, identity.subject, identity.region_code,
                      data["opinion"], data["problems"], data.get("approver_id"))
        if result.get("error"):
            raise HttpError(result.get("status", 409), result["error"], result["message"])
        return result

    @endpoint("GET", "/api/v1/review/gate", roles=("department", "officer", "supervisor"), tags=("review",),
              summary="May this decision be made? (REV-2 pre-decision check)")
    def review_gate(self, request, identity):
        case_id, version = request.args.get("case_id"), request.args.get("version", type=int)
        if not case_id or not version:
            raise HttpError(422, "invalid", "请求内容有误", {"case_id": ["必填"], "version": ["必填，整数"]})
        answer = call(self.review, "may_decide", case_id, version, identity.region_code)
        if answer is None:
            raise HttpError(404, "not_found", f"案件 {case_id} 不存在或不在您的管辖范围内")
        return answer
