"""Complaint routes (投诉举报, CMP)."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import HttpError, endpoint, read_json
from services.gateway.schemas import PublicComplaintRequest


class ComplaintsRoutes:
    # -- complaints (CMP) ----------------------------------------------------------------------
    @endpoint("POST", "/api/v1/public/complaints", tags=("public",), body=PublicComplaintRequest, success=201,
              summary="File a complaint on the portal (CMP-1, CMP-2, public)")
    def public_complaint(self, request, identity):
        data = read_json(request, PublicComplaintRequest)
        result = call(self.complaints, "submit_portal_complaint", data)
        if result.get("errors"):
            raise HttpError(422, "invalid", "请求内容有误", result["errors"])
        return result

    @endpoint("GET", "/api/v1/public/complaints/<number>", tags=("public",),
              summary="Complaint status by number and query code, no login (CMP-4, public)")
    def public_complaint_status(self, request, identity, number):
        status = call(self.complaints, "public_status", number, request.args.get("code", ""))
        if status is None:
            raise HttpError(404, "not_found", "编号或查询码不正确")
        return status

    @endpoint("GET", "/api/v1/complaints", roles=("complaint_handler", "supervisor", "admin"), tags=("complaints",),
              summary="The complaint register in the caller's scope (CMP-2)")
    def complaint_register(self, request, identity):
        return {"complaints": call(self.complaints, "list_register", identity.region_code)}
