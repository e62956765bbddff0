"""Records routes (全过程记录, REC)."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import STAFF_READ, HttpError, endpoint


class RecordsRoutes:
    # -- records (REC) --------------------------------------------------------------------------
    @endpoint("GET", "/api/v1/cases/<case_id>/timeline", roles=STAFF_READ, tags=("records",),
              summary="A case's full-process record timeline (REC-1, REC-5)")
    def case_timeline(self, request, identity, case_id):
        timeline = call(self.records, "case_timeline", case_id, identity.region_code)
        if timeline is None:
            raise HttpError(404, "not_found", f"案件 {case_id} 不存在或不在您的管辖范围内")
        return timeline
