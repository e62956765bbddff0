"""gateway: the one HTTP edge (departmental systems, staff, the public).

Routes live in ``services/gateway/routes/<service>.py`` as mixins — one per owning service — and
are declared with ``endpoint(...)`` (services/gateway/http.py): roles or public, and an entry in the
route table the OpenAPI document is generated from. Handlers check role and region scope, then call
the owning service by RPC (an answer is needed now) or publish the event (departmental intake).
"""
from __future__ import annotations

from services.common.auth import api_keys_cached
from services.common.metrics import Metrics
from services.common.rpc import ServiceRpc
from services.gateway.http import ROUTES  # noqa: F401 - the route table, re-exported for tests and docs
from services.gateway.routes.complaints import ComplaintsRoutes
from services.gateway.routes.disclosure import DisclosureRoutes
from services.gateway.routes.evaluation import EvaluationRoutes
from services.gateway.routes.operations import OperationsRoutes
from services.gateway.routes.records import RecordsRoutes
from services.gateway.routes.review import ReviewRoutes


class GatewayService(OperationsRoutes, RecordsRoutes, ReviewRoutes, DisclosureRoutes, ComplaintsRoutes,
                     EvaluationRoutes):
    name = "gateway"
    metrics = Metrics()
    records = ServiceRpc("records")
    review = ServiceRpc("review")
    disclosure = ServiceRpc("disclosure")
    complaints = ServiceRpc("complaints")
    evaluation = ServiceRpc("evaluation")

    @property
    def api_keys(self):
        return api_keys_cached()
