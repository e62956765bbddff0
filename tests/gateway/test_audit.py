"""The audit trail of staff actions (安全审计, SEC-3, issue 15) through the real gateway, broker and
records service: a read and a write of each staff role are recorded (who, role, scope, action,
object, result, source address, time); the auditor can search them and can do nothing else; when
the audit record cannot be confirmed, a write does not run and a read is not released (503)."""
import pytest
from kombu import Connection

from services.common.bus import events_exchange
from tests.fixtures import wait_for
from tests.integration import events as ev

pytestmark = pytest.mark.integration
CITY, COUNTY = "320400", "320412"
AUDIT_QUEUE = "evt-gateway-audit.recorded--records.on_audit_recorded"
CASE = "320412-SCJG-2026-00001"

# role → (read, write): a route the role may call; the outcome (found or not, valid or not) is recorded
ACTIONS = {
    "officer": (("GET", "/api/v1/cases/320412-SCJG-2026-00001/timeline"),
                ("POST", "/api/v1/cases/320412-SCJG-2026-00001/gaps/evaluate")),
    "legal_reviewer": (("GET", "/api/v1/review/tasks"),
                       ("POST", "/api/v1/cases/320412-SCJG-2026-00001/gaps/evaluate")),
    "supervisor": (("GET", "/api/v1/evaluation/summary"),
                   ("POST", "/api/v1/cases/320412-SCJG-2026-00001/corrections")),
    "complaint_handler": (("GET", "/api/v1/complaints"), ("POST", "/api/v1/complaints")),
    "admin": (("GET", "/api/v1/records/accesses"), ("POST", "/api/v1/admin/records/tree-heads")),
    "auditor": (("GET", "/audit"), ("POST", "/api/v1/admin/records/tree-heads")),
}


# body-bound roles act for the bodies they are given (SEC-2): the county officer for its body, the
# city's legal reviewer for every body of the city
BODIES = {"officer": ["320412-SCJG"], "legal_reviewer": ["*"], "responsible_person": ["*"]}


def send(suite, method, path, token):
    return suite.get(path, token) if method == "GET" else suite.post(path, {}, token=token)


def test_sec3_reads_and_writes_of_every_staff_role_are_audited_and_the_auditor_can_only_search(suite):
    auditor = suite.token("auditor", CITY, sub="auditor-1")
    suite.publish(ev.case_opened(CASE))
    wait_for(lambda: suite.get(f"/api/v1/cases/{CASE}/timeline",
                               suite.token("officer", COUNTY, sub="seed", bodies=BODIES["officer"])).ok,
             message="case recorded")
    answers = {}
    for role, ((read_m, read_p), (write_m, write_p)) in ACTIONS.items():
        token = suite.token(role, COUNTY if role == "officer" else CITY, sub=f"{role}-1", bodies=BODIES.get(role, ()))
        answers[role] = (send(suite, read_m, read_p, token).status_code,
                         send(suite, write_m, write_p, token).status_code)
    assert answers["auditor"][1] == 403          # the auditor's write attempt is refused …

    def entries(**filters):
        response = suite.get("/api/v1/audit/entries", auditor, params=filters)
        assert response.status_code == 200, response.text
        return response.json()["entries"]

    for role, ((read_m, read_p), (write_m, write_p)) in ACTIONS.items():
        found = wait_for(lambda: (lambda rows: rows if len(rows) >= 3 else None)(entries(subject=f"{role}-1")),
                         timeout=30, message=f"audit entries of {role}")
        read = [e for e in found if e["method"] == "GET" and e["path"] == read_p]
        assert len(read) == 1 and read[0]["phase"] == "outcome" and read[0]["status"] == answers[role][0], role
        writes = [e for e in found if e["method"] == "POST" and e["path"] == write_p]
        if role == "auditor":   # … and recorded as denied; no intent: a refused write never ran
            assert [(e["phase"], e["outcome"], e["status"]) for e in writes] == [("outcome", "denied", 403)]
        else:
            assert sorted(e["phase"] for e in writes) == ["intent", "outcome"], (role, writes)
            outcome = next(e for e in writes if e["phase"] == "outcome")
            assert outcome["status"] == answers[role][1]
            assert {e["correlation_id"] for e in writes} == {outcome["correlation_id"]}
        for e in found:
            assert e["subject"] == f"{role}-1" and e["role"] == role
            assert e["scope"]["region_code"] == (COUNTY if role == "officer" else CITY)
            assert e["source_address"] == "127.0.0.1" and e["at"] and e["action"].startswith(e["method"] + " /")
    # the object of an action: its path parameters
    timeline = entries(subject="officer-1", action="timeline")[0]
    assert timeline["object"] == {"case_id": CASE} and timeline["status"] == 200
    # the REC-6 access entry of that read names the same request
    accesses = suite.get("/api/v1/records/accesses", suite.token("supervisor", CITY), params={"case_id": CASE})
    assert timeline["correlation_id"] in {a["request_id"] for a in accesses.json()["accesses"]
                                          if a["subject"] == "officer-1"}
    # filters: outcome, role, correlation id
    assert {e["outcome"] for e in entries(outcome="denied")} == {"denied"}
    assert {e["role"] for e in entries(role="admin")} == {"admin"}

    # the auditor can do nothing else (a sample of reads across services), and others cannot search
    for path in ("/api/v1/complaints", "/api/v1/evaluation/summary", "/api/v1/review/tasks",
                 "/api/v1/records/accesses", "/api/v1/cases/320412-SCJG-2026-00001/timeline"):
        assert suite.get(path, auditor).status_code == 403, path
    for role in ("supervisor", "admin", "officer"):
        assert suite.get("/api/v1/audit/entries", suite.token(role, CITY)).status_code == 403
    # scope: a county auditor does not see the city's staff
    county_auditor = suite.token("auditor", "320411", sub="auditor-2")
    seen = suite.get("/api/v1/audit/entries", county_auditor).json()["entries"]
    assert {e["subject"] for e in seen} <= {"auditor-2"}
    # the auditor's page lists them (Chinese)
    page = suite.get("/audit", auditor, params={"subject": "admin-1", "limit": "50"})
    assert page.ok and "安全审计日志" in page.text and "/api/v1/admin/records/tree-heads" in page.text


def test_sec3_fails_closed_when_the_audit_record_cannot_be_confirmed(suite):
    """No queue takes the audit records (unbound): a staff write answers 503 and does not run; a staff
    read answers 503 without its data; the public is not affected."""
    admin = suite.token("admin", CITY, sub="admin-x")
    supervisor = suite.token("supervisor", CITY, sub="supervisor-x")
    assert suite.get("/api/v1/evaluation/summary", supervisor).ok
    with Connection(suite.amqp_uri) as conn:
        channel = conn.channel()
        channel.queue_unbind(AUDIT_QUEUE, events_exchange("gateway").name, "audit.recorded")
        try:
            heads_before = suite.get("/api/v1/public/records/tree-heads").json()["tree_heads"]
            write = suite.post("/api/v1/admin/records/tree-heads", {}, token=admin)
            assert write.status_code == 503 and "操作未执行" in write.json()["message"]
            assert suite.get("/api/v1/public/records/tree-heads").json()["tree_heads"] == heads_before
            read = suite.get("/api/v1/evaluation/summary", supervisor)
            assert read.status_code == 503 and "不予返回" in read.json()["message"] and "bodies" not in read.text
            assert suite.get("/api/v1/public/decisions").ok    # public: not audited, not affected
        finally:
            channel.queue_bind(AUDIT_QUEUE, events_exchange("gateway").name, "audit.recorded")
    assert suite.get("/api/v1/evaluation/summary", supervisor).ok
