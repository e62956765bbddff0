"""Events the evaluation service emits (评议考核, EVAL-*)."""
from __future__ import annotations

from services.common.catalogue.fields import EventType

EVENTS: list[EventType] = []
