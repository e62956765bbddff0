"""Tier links carry only what the other side consumes (PLAT-1): a shovelled event with no bound queue
at the destination would be confirmed by the broker and dropped."""
from services.common import federation
from services.common.bus import all_service_classes, handler_bindings
from services.common.catalogue import CATALOGUE


def consumers(source):
    return {b.event_type for cls in all_service_classes() for b in handler_bindings(cls) if b.source == source}


def test_every_upward_event_has_a_consumer_at_the_province():
    links = federation.load_links()
    for emitter, types in links["upward"].items():
        for event_type in types:
            assert CATALOGUE[event_type].emitter == emitter, event_type
            assert event_type in consumers(federation.UPWARD_EXCHANGE), f"nothing consumes upward {event_type}"


def test_every_downward_event_has_a_consumer_in_the_city():
    links = federation.load_links()
    for emitter, types in links["downward"].items():
        for event_type in types:
            assert CATALOGUE[event_type].emitter == emitter, event_type
            assert event_type in consumers(federation.DOWNWARD_EXCHANGE), f"nothing consumes downward {event_type}"
