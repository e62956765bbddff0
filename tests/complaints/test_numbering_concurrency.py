"""CMP-2 under load: two complaints service instances on the real broker, one PostgreSQL database,
concurrent portal filings (RPC through the gateway) and 12345 hotline events → numbers 1…N, no gap,
no duplicate. A rolled-back registration gives its number back."""
from __future__ import annotations

import shutil
import subprocess

import eventlet
import pytest
from nameko.runners import ServiceRunner

from services.complaints.service import ComplaintsService
from tests.complaints.helpers import complaints_suite, hotline_complaint, portal_form
from tests.fixtures import wait_for

pytestmark = pytest.mark.integration

PORTAL, HOTLINE = 40, 40


def _consumers(amqp_uri: str) -> dict[str, int]:
    vhost = amqp_uri.rsplit("/", 1)[1]
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    out = subprocess.run([exe, "list_consumers", "-p", vhost, "queue_name", "--no-table-headers", "-q"],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    counts: dict[str, int] = {}
    for line in out.split():
        counts[line] = counts.get(line, 0) + 1
    return counts


def test_cmp2_numbers_stay_unique_and_gap_free_with_two_instances_on_postgresql(amqp_uri, pg_admin, tmp_path):
    """CMP-2: 80 complaints filed concurrently through both instances get 320412-<year>-000001…000080."""
    url = pg_admin()
    with complaints_suite(amqp_uri, {"complaints": url}, tmp_path) as suite:
        second = ServiceRunner()
        second.add_service(ComplaintsService)
        second.start()
        try:
            consumers = _consumers(amqp_uri)
            assert consumers["evt-departments-complaint.submitted--complaints.on_complaint_submitted"] == 2
            assert consumers["rpc-complaints"] == 2

            def file(i):
                if i % 2:
                    event = hotline_complaint(phone=f"139{i:08d}", request=f"第{i}号：请求查处不出示执法证件的行为")
                    suite.publish(event)
                    return ("hotline", event["payload"]["external_ref"])
                response = suite.post("/api/v1/public/complaints",
                                      portal_form(phone=f"138{i:08d}", id_number=None,
                                                  request=f"第{i}号：请求依法查处违法执法行为"))
                assert response.status_code == 201, response.text
                return ("portal", response.json()["number"])

            pool = eventlet.GreenPool(30)
            filed = list(pool.imap(file, range(PORTAL + HOTLINE)))
            portal_numbers = [n for kind, n in filed if kind == "portal"]
            assert len(portal_numbers) == PORTAL and len(set(portal_numbers)) == PORTAL

            token = suite.token("complaint_handler", "320400")
            register = wait_for(lambda: (lambda rows: rows if len(rows) >= PORTAL + HOTLINE else None)(
                suite.get("/api/v1/complaints", token).json()["complaints"]), timeout=60, message="all registered")
            numbers = [row["number"] for row in register]
            assert len(numbers) == len(set(numbers)) == PORTAL + HOTLINE
            year = numbers[0].split("-")[1]
            assert sorted(numbers) == [f"320412-{year}-{seq:06d}" for seq in range(1, PORTAL + HOTLINE + 1)]
            assert set(portal_numbers) <= set(numbers)
            assert {row["channel"] for row in register} == {"portal", "hotline_12345"}
            registered = suite.capture.wait_for("complaint.registered", count=PORTAL + HOTLINE, timeout=60)
            assert sorted(e["payload"]["number"] for e in registered) == sorted(numbers)
        finally:
            second.stop()


def test_cmp2_a_rolled_back_registration_gives_its_number_back(tmp_path):
    """CMP-2: the counter moves in the registering transaction — a rollback leaves no gap; a township
    registers under its county's counter (the number shows 6 digits)."""
    from sqlalchemy.orm import Session

    from services.common.db import make_engine
    from services.common.migrations import upgrade
    from services.complaints import store

    url = f"sqlite:///{tmp_path / 'complaints.db'}"
    upgrade("complaints", url)
    engine = make_engine(url)
    with Session(engine) as session, session.begin():
        assert store.allocate_number(session, "320412", 2026) == ("320412-2026-000001", 1)
    session = Session(engine)
    session.begin()
    assert store.allocate_number(session, "320412", 2026)[1] == 2
    session.rollback()
    session.close()
    with Session(engine) as session, session.begin():
        assert store.allocate_number(session, "320412001", 2026) == ("320412-2026-000002", 2)
        assert store.allocate_number(session, "320412", 2027) == ("320412-2027-000001", 1)
    engine.dispose()
