"""Evaluation routes (评议考核, EVAL)."""
from __future__ import annotations

from services.common.rpc import call
from services.gateway.http import endpoint, in_scope


class EvaluationRoutes:
    # -- evaluation (EVAL) ---------------------------------------------------------------------
    @endpoint("GET", "/api/v1/evaluation/summary", roles=("supervisor", "admin"), tags=("evaluation",),
              summary="Indicator counts by body in the caller's scope (EVAL-2)")
    def evaluation_summary(self, request, identity):
        region = request.args.get("region_code") or identity.region_code
        in_scope(identity, region)
        return call(self.evaluation, "summary", region, request.args.get("year", type=int))
