"""The event catalogue (PLAT-7 统一数据标准): one module per emitter, so each service's contracts sit
together. ``CATALOGUE`` maps every event type to its schema, emitter and summary."""
from __future__ import annotations

from services.common.catalogue import complaints, departments, disclosure, evaluation, records, review
from services.common.catalogue import coordination, departments_evaluation, gateway
from services.common.catalogue.fields import EventType

CATALOGUE: dict[str, EventType] = {
    e.name: e
    for module in (departments, departments_evaluation, records, review, disclosure, complaints, coordination, evaluation, gateway)
    for e in module.EVENTS
}
