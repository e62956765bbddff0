"""Plausibility of departmental events over AMQP (issue 14): an event dated in the future is
dead-lettered with its reason, and the next event is processed."""
import datetime as dt

import pytest

from tests.fixtures import dead_letters, wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration


def test_event_dated_beyond_the_future_tolerance_is_dead_lettered(suite):
    future = ev.case_opened("C-FUTURE-1", at=dt.datetime.now(ev.CHINA) + dt.timedelta(hours=1))
    suite.publish(future)
    suite.publish(ev.case_opened("C-PRESENT-1"))     # the barrier: published after, observed as processed
    supervisor = suite.token("supervisor", "320000")
    wait_for(lambda: suite.get("/api/v1/cases/C-PRESENT-1/timeline", supervisor).ok, message="next event processed")
    letters = wait_for(lambda: dead_letters(suite.amqp_uri, "records"), message="future event dead-lettered")
    assert [future["event_id"] in item["body"] for item in letters] == [True]
    assert "occurred_at" in letters[0]["reason"] and "晚于当前时间超过300秒" in letters[0]["reason"]
    assert suite.get("/api/v1/cases/C-FUTURE-1/timeline", supervisor).status_code == 404
