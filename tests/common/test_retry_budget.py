"""PLAT-1 (issue 20): how a failed event is delayed, retried or dead-lettered.

A PostgreSQL failover delays an event several times as transient; those delays used to count toward
ZHIFA_MAX_ATTEMPTS (one x-zhifa-attempts header for both), so the event's first real error after the
outage — a unique-key race between two registrations of one body — dead-lettered it at once (a make
chaos pg-primary-kill round: 6 body.registered dead-lettered). Errors are now counted apart
(x-zhifa-errors). A unique-key violation stays a counted error, not transient: raced, it passes on the
next attempt; from the data, it fails every time and must end in the dead-letter queue, not loop.
"""
from __future__ import annotations

import types

import pytest
from nameko import config
from sqlalchemy.exc import IntegrityError, OperationalError

from services.common.bus import DEAD_LETTER_EXCHANGE
from services.common.entrypoints import ATTEMPTS_HEADER, ERRORS_HEADER, ReliableEventHandler, is_transient


class _Message:
    def __init__(self, headers):
        self.headers, self.body, self.content_type, self.content_encoding = dict(headers), b"{}", "application/json", "utf-8"


def _handler():
    handler = object.__new__(ReliableEventHandler)
    sent, acked = [], []
    handler.container = types.SimpleNamespace(service_name="review")
    handler.event_type, handler.method_name, handler.internal_user = "body.registered", "on_body_registered", "guest"
    handler.queue = types.SimpleNamespace(name="evt-departments-body.registered--review.on_body_registered")
    handler.publisher = types.SimpleNamespace(publish=lambda raw, **kw: sent.append(kw))
    handler.consumer = types.SimpleNamespace(ack_message=acked.append, requeue_message=lambda m: None)
    return handler, sent, acked


def _unique_violation():
    orig = type("UniqueViolation", (Exception,), {"sqlstate": "23505"})("duplicate key value")
    return IntegrityError("INSERT INTO registry_bodies …", {}, orig)


def _outage():
    return OperationalError("SELECT 1", {}, type("AdminShutdown", (Exception,), {"sqlstate": "57P01"})())


def test_plat1_a_unique_violation_is_a_counted_error_not_transient():
    """PLAT-1: retried a bounded number of times (a race passes on the next), never looped forever."""
    assert not is_transient(_unique_violation())
    assert is_transient(_outage())


@pytest.mark.parametrize("delays", [0, 4, 12])
def test_plat1_an_outages_transient_delays_do_not_use_up_the_error_budget(delays):
    """PLAT-1: an event delayed ``delays`` times by an outage then failing once on a unique-key race is
    retried (x-zhifa-errors 1), not dead-lettered — before, 4 delays + 1 error = 5 = ZHIFA_MAX_ATTEMPTS."""
    handler, sent, acked = _handler()
    message = _Message({ATTEMPTS_HEADER: delays})
    with config.patch({"ZHIFA_MAX_ATTEMPTS": 5}, clear=False):
        handler.retry_or_dead_letter(message, _unique_violation())
    assert len(sent) == 1 and acked == [message]
    assert sent[0]["routing_key"].endswith(".retry")
    assert sent[0]["headers"][ERRORS_HEADER] == 1 and sent[0]["headers"][ATTEMPTS_HEADER] == delays + 1


def test_plat1_transient_delays_keep_the_error_count_and_errors_still_end_in_the_dead_letter_queue():
    """PLAT-1: a transient delay carries the errors counted so far; the ZHIFA_MAX_ATTEMPTS-th error
    dead-letters the event with the count in its reason."""
    handler, sent, _ = _handler()
    with config.patch({"ZHIFA_MAX_ATTEMPTS": 3}, clear=False):
        handler.retry_or_dead_letter(_Message({ATTEMPTS_HEADER: 7, ERRORS_HEADER: 1}), _outage())
        assert sent[-1]["routing_key"].endswith(".retry") and sent[-1]["headers"][ERRORS_HEADER] == 1
        handler.retry_or_dead_letter(_Message({ATTEMPTS_HEADER: 8, ERRORS_HEADER: 1}), _unique_violation())
        assert sent[-1]["routing_key"].endswith(".retry") and sent[-1]["headers"][ERRORS_HEADER] == 2
        handler.retry_or_dead_letter(_Message({ATTEMPTS_HEADER: 9, ERRORS_HEADER: 2}), _unique_violation())
    assert sent[-1]["exchange"] == DEAD_LETTER_EXCHANGE
    assert sent[-1]["headers"]["x-zhifa-reason"].startswith("failed 3 times")
    assert sent[-1]["headers"][ERRORS_HEADER] == 3          # the count the reason gives, not the one before
