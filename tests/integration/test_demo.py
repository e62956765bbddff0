"""`make run`'s demo traffic against a running suite: every event accepted, the demo's major case
visible in each service through the gateway (issue 2, "done when")."""
import datetime as dt
import os
import subprocess
import sys
import uuid

import pytest

from services.common.auth import hash_key
from tests.fixtures import ROOT_DIR, _rabbitmqctl, dead_letters, running_suite, wait_for, wait_until_drained

pytestmark = pytest.mark.integration
HTTP_KEY = "zf_demo_zhonglou_zhzf_key"


@pytest.fixture
def demo_senders(amqp_uri):
    """A broker user per demo system that publishes over AMQP, as `make run` creates them (every
    service refuses departmental events from a broker user the registry does not name, SEC-2)."""
    sys.path.insert(0, str(ROOT_DIR / "deploy" / "local"))
    from demo import amqp_systems

    vhost = amqp_uri.rsplit("/", 1)[1]
    created = {}
    try:
        for system, entry in amqp_systems(["zl-zhzf-http"]).items():
            user, password = f"demo-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
            _rabbitmqctl("add_user", user, password)
            created[system] = (user, password, entry)
            _rabbitmqctl("set_permissions", "-p", vhost, user, "^$", "^departments\\.events$", "^$")
        yield created
    finally:
        for user, _, _ in created.values():
            subprocess.run(["rabbitmqctl", "delete_user", user], capture_output=True, timeout=60)


def test_demo_traffic_flows_through_every_service(amqp_uri, sqlite_databases, tmp_path, demo_senders):
    keys = [{"system": "zl-zhzf-http", "region_code": "320404", "body_ids": ["320404-ZHZF"],
             "key_sha256": hash_key(HTTP_KEY)}]
    keys += [{"system": system, "region_code": entry["region_code"], "body_ids": entry["body_ids"],
              "key_sha256": hash_key(uuid.uuid4().hex), "amqp_user": user}
             for system, (user, _, entry) in demo_senders.items()]
    senders = [a for system, (user, password, _) in demo_senders.items()
               for a in ("--sender", f"{system}={user}:{password}")]
    with running_suite(amqp_uri, sqlite_databases, tmp_path, api_keys=keys) as suite:
        secret = tmp_path / "token_secret"
        secret.write_text(suite.token_secret)
        state = tmp_path / "demo-state"

        def run_demo(cases: int) -> None:
            demo = subprocess.run(
                [sys.executable, str(ROOT_DIR / "deploy" / "local" / "demo.py"), "--amqp", amqp_uri, "--gateway",
                 suite.base_url, "--cases", str(cases), "--api-key", f"zl-zhzf-http={HTTP_KEY}", *senders,
                 "--token-secret-file", str(secret), "--state-file", str(state)], cwd=ROOT_DIR,
                env={**os.environ, "PYTHONPATH": str(ROOT_DIR)}, capture_output=True, text=True, timeout=240)
            assert demo.returncode == 0, demo.stdout + demo.stderr
            print(demo.stdout)

        run_demo(5)
        supervisor = suite.token("supervisor", "320400")
        case_id = f"320400-SCJG-{dt.date.today().year}-00001"     # the demo's first case is major
        timeline = wait_for(lambda: (lambda r: r.ok and any(e["event_type"] == "case.archived"
                                                            for e in r.json()["entries"]) and r.json())(
            suite.get(f"/api/v1/cases/{case_id}/timeline", supervisor)), timeout=60, message="demo timeline")
        assert "review.approved" in [e["event_type"] for e in timeline["entries"]]
        review = suite.get("/api/v1/review/tasks", supervisor, params={"case_id": case_id}).json()["tasks"]
        assert review and review[0]["status"] == "approved"
        published = wait_for(lambda: suite.get("/api/v1/public/decisions", params={"body_id": "320400-SCJG"})
                             .json()["results"], message="demo publications")
        assert published
        wait_for(lambda: suite.get("/api/v1/complaints", suite.token("complaint_handler", "320400")).json()
                 .get("complaints"), message="the demo's hotline complaint")
        summary = wait_for(lambda: (lambda b: b.get("320400-SCJG", {}).get("review_approved") and b)(
            suite.get("/api/v1/evaluation/summary", supervisor).json()["bodies"]), message="evaluation facts")
        assert summary["320400-SCJG"]["enforcement_action"] >= 1
        # make run again on the same data (issue 20's alert soak): the demo goes on from its last case number —
        # it started at 00001 again, and records refused the archived cases' events (REC-5) into the DLQ
        run_demo(2)
        assert state.read_text() == "7"
        # the barrier before asserting no dead letter: both restarted cases (00006 of 320400-SCJG, 00007 of
        # 320412-SCJG, the demo's last events) archived in records, then every service's queues drained
        for later in (f"320400-SCJG-{dt.date.today().year}-00006", f"320412-SCJG-{dt.date.today().year}-00007"):
            wait_for(lambda: (lambda r: r.ok and any(e["event_type"] == "case.archived" for e in r.json()["entries"]))(
                suite.get(f"/api/v1/cases/{later}/timeline", supervisor)), timeout=60, message=f"{later} archived")
        for service in ("records", "review", "disclosure", "complaints", "evaluation"):
            wait_until_drained(amqp_uri, service, timeout=60)
            assert dead_letters(amqp_uri, service) == [], f"{service} dead-lettered demo traffic"
