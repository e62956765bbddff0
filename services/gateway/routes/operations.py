"""Health, OpenAPI and departmental intake (PLAT-7) routes."""
from __future__ import annotations

import json

from nameko.amqp.publish import Publisher, UndeliverableMessage

from services.common import ownership, settings
from services.common.auth import department_event_refusal
from services.common.bus import events_exchange
from services.common.events import DEPARTMENTS, InvalidEvent, parse_event
from services.common.rpc import RpcTimeout, call
from services.gateway import edge, openapi
from services.gateway.http import ROUTES, HttpError, endpoint, read_json


class OperationsRoutes:
    # -- operations ------------------------------------------------------------------------------
    @endpoint("GET", "/healthz", summary="Liveness (public)")
    def healthz(self, request, identity):
        return {"status": "ok"}

    @endpoint("GET", "/static/<name>", summary="The pages' style sheets and scripts (public; CSP allows only these)")
    def static(self, request, identity, name):
        response = edge.static_file(name)
        if response is None:
            raise HttpError(404, "not_found", "请求的地址不存在")
        return response

    @endpoint("GET", "/api/v1/openapi.json", summary="This API's OpenAPI document (public)")
    def openapi_document(self, request, identity):
        return openapi.document(ROUTES)

    # -- departmental intake (PLAT-7) ----------------------------------------------------------
    @endpoint("POST", "/api/v1/events", roles=("department",), success=202, tags=("departments",),
              summary="Publish one departmental event (envelope + payload); 202 with its id, 4xx with field errors")
    def publish_event(self, request, identity):
        raw = read_json(request)
        try:
            event = parse_event(raw)
        except InvalidEvent as exc:
            raise HttpError(422, "invalid_event", exc.reason, exc.errors) from None
        refusal = department_event_refusal(identity, event)
        if refusal:
            raise HttpError(403, *refusal)
        self._check_case_owner(event)
        return self._publish_departmental(raw, event)

    @staticmethod
    def _publish_departmental(raw: dict, event) -> dict:
        """Publish a checked departmental event to ``departments.events``, confirmed and mandatory."""
        publisher = Publisher(settings.amqp_uri(), use_confirms=True, mandatory=True,
                              declare=[events_exchange(DEPARTMENTS)])
        try:
            publisher.publish(json.dumps(raw, ensure_ascii=False), exchange=events_exchange(DEPARTMENTS),
                              routing_key=event.event_type, serializer=None, content_type="application/json",
                              content_encoding="utf-8", message_id=event.event_id,
                              user_id=settings.amqp_user())   # checked here: handlers trust the suite's user
        except UndeliverableMessage:
            raise HttpError(503, "not_routed", "消息总线尚未初始化（zhifa bus-init）") from None
        return {"event_id": event.event_id, "status": "accepted"}

    def _check_case_owner(self, event):
        """SEC-2 at the edge: a case event whose case id is not in the sender body's namespace is
        refused here (403) unless records knows a transfer that made the body the case's owner at
        the event's time; the services refuse the rest (transfers they learn later, a namespace
        owner acting after it transferred the case — docs/INTEGRATION.md)."""
        if not ownership.is_screened(event) or ownership.in_namespace(event.body_id, event.case_id):
            return
        try:
            answer = call(self.records, "case_owner", event.case_id, event.occurred_at.isoformat())
        except RpcTimeout:
            raise HttpError(503, "unavailable", "暂时无法核验案件归属，请稍后重试") from None
        if (answer or {}).get("body_id") != event.body_id:
            raise HttpError(403, ownership.OWNED_BY_OTHER,
                            f"案件 {event.case_id} 不属于执法主体 {event.body_id}：案件编号应以本机关主体代码加“-”或“:”开头，"
                            f"移交的案件以移送（case.transferred）为准")

    # -- pages (Simplified Chinese) --------------------------------------------------------------
    @endpoint("GET", "/", summary="Portal home page: search published decisions (DISC-9, public)", tags=("public",),
              limit="search")
    def home(self, request, identity):
        return self.render_portal_search(request)  # services/gateway/routes/disclosure.py
