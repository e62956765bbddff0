"""The HTTP edge (gateway). It joins the suite through the registry (services/common/registry.py, issue 21)."""
from services.common.registry import ServiceEntry

SERVICE = ServiceEntry(name="gateway", service="services.gateway.service:GatewayService", order=9, metrics_port=9100)
