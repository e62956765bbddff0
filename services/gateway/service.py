"""gateway: the one HTTP edge (departmental systems, staff, the public).

Routes live in ``services/gateway/routes/<service>.py`` as mixins — one per owning service — and
are declared with ``endpoint(...)`` (services/gateway/http.py): roles or public, and an entry in the
route table the OpenAPI document is generated from. Handlers check role and region scope, then call
the owning service by RPC (an answer is needed now) or publish the event (departmental intake).
"""
from __future__ import annotations

from services.common.auth import api_keys_cached
from services.common.configfile import ConfigFiles
from services.common.metrics import Metrics
from services.common.rpc import ServiceRpc
from services.gateway import configuration
from services.gateway.http import ROUTES  # noqa: F401 - the route table, re-exported for tests and docs
# modules, not classes: `nameko run services.gateway.service` treats every class with entrypoints in
# this module's namespace as a service, and the mixins are not services
from services.gateway.routes import audit as audit_routes
from services.gateway.routes import complaints as complaint_routes
from services.gateway.routes import coordination as coordination_routes
from services.gateway.routes import disclosure as disclosure_routes
from services.gateway.routes import evaluation as evaluation_routes
from services.gateway.routes import operations as operations_routes
from services.gateway.routes import records as records_routes
from services.gateway.routes import review as review_routes
from services.gateway.routes import signin as signin_routes
from services.gateway.shared import Shared


class GatewayService(operations_routes.OperationsRoutes, records_routes.RecordsRoutes, review_routes.ReviewRoutes,
                     disclosure_routes.DisclosureRoutes, complaint_routes.ComplaintsRoutes,
                     coordination_routes.CoordinationRoutes,
                     evaluation_routes.EvaluationRoutes, audit_routes.AuditRoutes, signin_routes.SignInRoutes):
    name = "gateway"
    config_files = ConfigFiles(configuration.load_all)   # every config file, read at start-up (issue 21)
    metrics = Metrics()
    shared = Shared()   # abuse limits and staff sessions, in Redis (services/gateway/shared.py)
    records = ServiceRpc("records")
    review = ServiceRpc("review")
    disclosure = ServiceRpc("disclosure")
    complaints = ServiceRpc("complaints")
    evaluation = ServiceRpc("evaluation")

    @property
    def api_keys(self):
        return api_keys_cached()
