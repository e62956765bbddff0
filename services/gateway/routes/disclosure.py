"""Disclosure routes (行政执法公示, DISC)."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import HttpError, endpoint


class DisclosureRoutes:
    # -- disclosure (DISC) ------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/public/decisions", tags=("public",),
              summary="Search published decisions (DISC-9, public)")
    def public_decisions(self, request, identity):
        args = request.args
        return call(self.disclosure, "search", args.get("q"), args.get("region_code"), args.get("body_id"),
                    args.get("action_type"), args.get("page", 1, type=int))

    @endpoint("GET", "/api/v1/public/decisions/<publication_id>", tags=("public",),
              summary="One published decision with its history (DISC-5, DISC-6, public)")
    def public_decision(self, request, identity, publication_id):
        found = call(self.disclosure, "get_publication", publication_id)
        if found is None:
            raise HttpError(404, "not_found", "未找到该公示信息")
        return found

    @endpoint("GET", "/api/v1/disclosure/due", roles=("supervisor", "admin", "officer"), tags=("disclosure",),
              summary="Publications due / overdue in the caller's scope (DISC-3)")
    def disclosure_due(self, request, identity):
        return {"publications": call(self.disclosure, "list_pending", identity.region_code)}
