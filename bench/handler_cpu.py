"""CPU per event of the services' batch handlers, in process (issue 17): no broker, no eventlet, no
other process — the figure the machine's load moves least, beside bench/suite_budget.py's whole-process one.

    python bench/handler_cpu.py [--cases 300] [--batch 100] [--service evaluation …] [--profile made]

For each service (default: records, review, disclosure, evaluation) a fresh PostgreSQL database is migrated
and the budget's phases are applied to it in order — officers registered, then ``--cases`` cases opened,
evidence ×2, proposed, decided, served, executed, archived — each through the service's own batch method
(``apply_batch``: the processed-event claim, the preloads, every event's handler, the before-commit hooks
and the commit, as the entrypoint runs it) in batches of ``--batch``. First, untimed, ``WARM_UP_CASES``
cases go through every phase: configuration files read and statements compiled on first use are start-up
costs of a service, not per-event ones. CPU = this process's ``time.process_time`` over the phase, per
event (PostgreSQL's own CPU is not counted). Phases a service does not consume are skipped.
``--profile PHASE`` writes a cProfile (CPU time) of that phase to ``/tmp/zhifa-handler-<service>-<phase>.prof``.

Prints ``BENCH handler_cpu_validation_<phase>_us``: what each delivery's validation in the entrypoint
costs (``parse_event`` + digest; not in the handler figures, paid once per consuming service); then a line
per service on stderr (with the internal events each phase put in the outbox, per event) and
``BENCH handler_cpu_<service>_<phase>_ms <ms> ms`` for the phases the service consumes.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import importlib
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import pg_database  # noqa: E402

from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR  # noqa: E402

from services.common.batching import BatchEventHandler, EventBatch  # noqa: E402
from services.common.db import DatabaseAccess, make_engine  # noqa: E402
from services.common.events import DEPARTMENTS, parse_event  # noqa: E402
from services.common.migrations import upgrade  # noqa: E402
from tests.integration import events as ev  # noqa: E402

PHASES = {
    "officer": lambda cases: [ev.envelope("officer.registered", {
        "officer_id": f"o-{i + 1}", "name": "王执法", "body_id": ev.BODY["body_id"], "roles": ["officer"],
        "certificate_no": f"JS{i:08d}"}) for i in range(max(2, len(cases) // 10))],
    "opened": lambda cases: [ev.case_opened(c) for c in cases],
    "evidence": lambda cases: [ev.evidence(c, n=n) for n in range(2) for c in cases],
    "proposed": lambda cases: [ev.decision_proposed(c, fine="2000.00") for c in cases],
    "made": lambda cases: [ev.decision_made(c, fine="2000.00") for c in cases],
    "served": lambda cases: [ev.decision_served(c) for c in cases],
    "executed": lambda cases: [ev.envelope("decision.executed", {
        "executed_at": dt.datetime.now(ev.CHINA).isoformat(), "manner": "当事人自动履行"}, c) for c in cases],
    "archived": lambda cases: [ev.case_archived(c) for c in cases],
}
WARM_UP_CASES = 5
DEFAULT_SERVICES = ("records", "review", "disclosure", "evaluation")


class _Provider:
    """What ``DatabaseAccess`` reads of the service's ``Database`` dependency."""

    def __init__(self, engine, service: str):
        self.engine, self.service_name, self.case_ownership = engine, service, True
        self.outbox_nudge = threading.Event()


def _service_class(service: str):
    module = importlib.import_module(f"services.{service}.service")
    return next(c for c in vars(module).values() if isinstance(c, type) and getattr(c, "name", None) == service)


def _departmental_handlers(cls) -> dict[str, tuple[str, bool]]:
    """event type -> (method name, batched) of the service's handlers of departmental events; batched: the
    entrypoint hands the method an ``EventBatch`` (``batch_event_handler``/``batched_event_handler``)."""
    handlers = {}
    for name in dir(cls):
        for entrypoint in getattr(getattr(cls, name, None), ENTRYPOINT_EXTENSIONS_ATTR, ()) or ():
            if getattr(entrypoint, "source_service", None) == DEPARTMENTS:
                handlers.setdefault(entrypoint.event_type, (name, isinstance(entrypoint, BatchEventHandler)))
    return handlers


def validation_us(make, n: int = 300) -> float:
    """CPU µs per delivery of the entrypoint's validation (``parse_event`` of the decoded body, as
    ``ReliableEventHandler.accept`` runs it) and the digest a batch claim reads (``Event.digest``)."""
    bodies = make([ev.case_id(f"HV-{i}") for i in range(n)])
    started = time.process_time()
    for body in bodies:
        parse_event(body, expected_type=body["event_type"]).digest
    return (time.process_time() - started) * 1e6 / len(bodies)


def measure(service: str, cases: int, batch: int, profile: str | None) -> dict[str, float]:
    cls = _service_class(service)
    handlers = _departmental_handlers(cls)
    case_ids = [ev.case_id(f"HC-{i}") for i in range(cases)]
    figures = {}
    with pg_database() as url:
        upgrade(service, url)
        engine = make_engine(url)
        provider = _Provider(engine, service)
        instance = cls.__new__(cls)
        seen: dict = {}
        if service == "records":          # the LedgerProvider's dependency: this process's view of the log
            from services.records.ledger import Ledger
            instance.ledger = Ledger()
        try:
            # first use (config files read, statements compiled) is a start-up cost, not a per-event one:
            # a few warm-up cases go through every phase untimed first
            for timed, ids in ((False, [ev.case_id(f"HW-{i}") for i in range(WARM_UP_CASES)]), (True, case_ids)):
                for phase, make in PHASES.items():
                    events = [parse_event(e) for e in make(ids)]
                    method_name, batched = handlers.get(events[0].event_type, (None, False))
                    if method_name is None:
                        continue
                    method = getattr(instance, method_name)
                    groups = ([events[i:i + batch] for i in range(0, len(events), batch)] if batched
                              else [[e] for e in events])
                    consumer = f"{service}.{method_name}"
                    prof = cProfile.Profile(time.process_time) if timed and phase == profile else None
                    started = time.process_time()
                    for group in groups:
                        instance.db = DatabaseAccess(provider, consumer)
                        with prof or contextlib.nullcontext():
                            method(EventBatch(group, [consumer] * len(group)) if batched else group[0])
                    elapsed = (time.process_time() - started) * 1000 / len(events)
                    emitted = _outbox_counts(engine)
                    if timed:
                        figures[phase] = elapsed
                        figures[f"{phase}:emitted"] = {t: (n - seen.get(t, 0)) / len(events)
                                                       for t, n in emitted.items() if n != seen.get(t, 0)}
                    seen = emitted
                    if prof is not None:
                        prof.dump_stats(f"/tmp/zhifa-handler-{service}-{phase}.prof")
        finally:
            engine.dispose()
    return figures


def _outbox_counts(engine) -> dict[str, int]:
    """Internal events put in the service's outbox so far, by type."""
    from sqlalchemy import text
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT event_type, count(*) FROM outbox GROUP BY event_type")).all())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--service", action="append")
    parser.add_argument("--profile")
    args = parser.parse_args(argv)
    for phase, make in PHASES.items():
        if phase != "officer":
            print(f"BENCH handler_cpu_validation_{phase}_us {validation_us(make):.1f} us", flush=True)
    for service in args.service or DEFAULT_SERVICES:
        figures = measure(service, args.cases, args.batch, args.profile)
        emitted = {p.split(":")[0]: figures.pop(p) for p in list(figures) if p.endswith(":emitted")}
        print(f"bench: {service} " + ", ".join(f"{p} {ms:.2f}" for p, ms in figures.items())
              + f" CPU ms/event ({dt.datetime.now():%H:%M}); internal events per event: "
              + "; ".join(f"{p} " + ", ".join(f"{t} {n:.2f}" for t, n in sorted(e.items()))
                          for p, e in emitted.items() if e), file=sys.stderr, flush=True)
        for phase, ms in figures.items():
            if phase != "officer":
                print(f"BENCH handler_cpu_{service}_{phase}_ms {ms:.2f} ms", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
