"""A PostgreSQL host that accepts TCP but never answers (a frozen or partitioned primary) does not
hold a service forever (issue 20, PLAT-1): make_engine gives libpq a connect timeout, so the next
host of a multi-host URL (``host=…&host=…&target_session_attrs=read-write``) is tried; keepalives
and tcp_user_timeout bound a connection whose peer vanished. Runs in a subprocess with a deadline:
without the timeout the connection attempt never returns."""
import json
import os
import socket
import subprocess
import sys

import pytest

from tests.fixtures import PG_DSN, ROOT_DIR

pytestmark = pytest.mark.integration

PROBE = """
import json, sys, time
from services.common.db import make_engine
engine = make_engine(sys.argv[1])
started = time.monotonic()
with engine.connect() as conn:
    raw = conn.connection.driver_connection
    print(json.dumps({"port": raw.info.port, "seconds": time.monotonic() - started,
                      "parameters": raw.info.get_parameters()}))
"""


def _probe(url: str) -> dict:
    run = subprocess.run([sys.executable, "-c", PROBE, url], cwd=ROOT_DIR, capture_output=True, text=True,
                         timeout=40, env={**os.environ, "PYTHONPATH": str(ROOT_DIR)})
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_plat1_issue20_silent_host_is_given_up_and_the_next_host_serves():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)               # the kernel completes the handshake; nobody ever answers
    user_db = PG_DSN.split("://", 1)[1]
    user, rest = user_db.split("@", 1)
    real_hostport, db = rest.split("/", 1)
    url = (f"postgresql://{user}@/{db}?host=127.0.0.1:{silent.getsockname()[1]}&host={real_hostport}"
           "&target_session_attrs=read-write")
    try:
        try:
            answer = _probe(url)
        except subprocess.TimeoutExpired:
            pytest.fail("the connection attempt hung on a host that never answers (no connect_timeout)")
    finally:
        silent.close()
    assert answer["port"] == int(real_hostport.rsplit(":", 1)[1])
    assert answer["seconds"] < 15
    params = answer["parameters"]
    assert params["keepalives"] == "1" and params["tcp_user_timeout"] == "60000", params


def test_plat1_issue20_a_parameter_in_the_url_wins_over_the_default():
    answer = _probe(PG_DSN + "?connect_timeout=17&keepalives_idle=11")
    assert answer["parameters"]["connect_timeout"] == "17" and answer["parameters"]["keepalives_idle"] == "11"
