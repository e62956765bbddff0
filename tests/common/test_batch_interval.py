"""Issue 17: batches of a batched handler start at most every ``interval`` under load (fewer, larger
transactions), a lone event after a quiet spell is not held back, and a full batch is cut at once."""
import threading
import time

from nameko import config
from nameko.containers import ServiceContainer

from services.common.batching import _Group, batch_event_handler
from services.common.events import DEPARTMENTS


class _CountingEvent(threading.Event):
    def __init__(self):
        super().__init__()
        self.sets = 0

    def set(self):
        self.sets += 1
        super().set()


class _Recording(_Group):
    """The group's flusher with the apply replaced by a record of each cut (time, size)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cuts: list[tuple[float, int]] = []
        self.arrived = _CountingEvent()

    def _run(self, batch, single):
        self.cuts.append((time.monotonic(), len(batch)))
        time.sleep(0.005)                      # applying it

    def put(self, n=1):
        for _ in range(n):
            self.arrive((None, None, None))

    def cut(self, total, timeout=5.0):
        deadline = time.monotonic() + timeout
        while sum(n for _, n in self.cuts) < total:
            assert time.monotonic() < deadline, f"{total} events not cut: {self.cuts}"
            time.sleep(0.005)


def _started(group):
    thread = threading.Thread(target=group.run, daemon=True)
    thread.start()
    return thread


def test_issue17_batches_start_at_most_every_interval_and_a_lone_event_does_not_wait():
    group = _Recording("tally.cases", max_batch=30, linger=0.0, interval=0.2)
    thread = _started(group)
    try:
        quiet = time.monotonic()
        group.put()
        group.cut(1)
        assert group.cuts[0][0] - quiet < 0.1            # after a quiet spell: at once
        for _ in range(40):                               # a stream of 40 events over ~0.4 s
            group.put()
            time.sleep(0.01)
        group.cut(41)
        starts = [t for t, _ in group.cuts]
        assert all(b - a >= 0.19 for a, b in zip(starts, starts[1:])), group.cuts
        assert len(group.cuts) <= 5 and max(n for _, n in group.cuts) >= 10
        # events arriving while others gather do not wake the flusher: only the first after a quiet spell
        assert group.arrived.sets <= 3, group.arrived.sets
        time.sleep(0.25)
        before = len(group.cuts)
        full = time.monotonic()
        group.put(30)                                     # a full batch does not wait for the interval
        group.put(30)
        group.cut(101)
        assert len(group.cuts) == before + 2 and group.cuts[-1][0] - full < 0.15, group.cuts[before:]
    finally:
        group.stopping = True
        group.arrived.set()
        thread.join(5)


class _Twice:
    name = "twice"

    @batch_event_handler(DEPARTMENTS, "case.opened", group="cases", interval_ms=150, max_batch=70)
    def on_opened(self, events):
        return None

    @batch_event_handler(DEPARTMENTS, "evidence.recorded", group="cases", interval_ms=150, max_batch=70)
    def on_evidence(self, events):
        return None


def _group(settings_patch, service=_Twice, name="cases"):
    with config.patch({"AMQP_URI": "amqp://guest:guest@127.0.0.1:5672/", **settings_patch}, clear=False):
        container = ServiceContainer(service)
        for entrypoint in container.entrypoints:
            entrypoint.setup()
        return container.__dict__["_zhifa_batch_groups"][name]


def _interval_of_group(settings_patch):
    return _group(settings_patch).interval


def test_issue17_batch_interval_is_the_services_own_unless_the_setting_is_set():
    """Unset, ``ZHIFA_BATCH_INTERVAL_MS`` leaves each service's own interval (records 20 ms; review, disclosure,
    evaluation 200 ms, on their handler groups); set, it applies to every group of the process."""
    from services.disclosure.service import DECISIONS
    from services.evaluation.service import FACTS
    from services.records.service import WRITER
    from services.review.service import CASES

    assert _interval_of_group({"ZHIFA_BATCH_INTERVAL_MS": None}) == 0.15
    assert _interval_of_group({"ZHIFA_BATCH_INTERVAL_MS": 40}) == 0.04
    assert _interval_of_group({"ZHIFA_BATCH_INTERVAL_MS": 0}) == 0.0
    assert WRITER["interval_ms"] == 20 and {CASES["interval_ms"], FACTS["interval_ms"], DECISIONS["interval_ms"]} == {200}


def test_issue17_batch_size_is_the_services_own_unless_the_setting_is_set():
    """Unset, ``ZHIFA_BATCH_SIZE`` leaves each service's own largest batch — records 500 (its writer drains a backlog
    with fewer per-batch claims, screens, locks and commits), the others 200; set, it applies to every group of the
    process (the replica tests set 40). The prefetch window holds the batch being applied and the next one."""
    from services.records.service import RecordsService

    assert _group({"ZHIFA_BATCH_SIZE": None}).max_batch == 70
    assert _group({"ZHIFA_BATCH_SIZE": 40}).max_batch == 40
    records = _group({"ZHIFA_BATCH_SIZE": None, "ZHIFA_RECORDS_SIGNING_KEY": "8" * 64}, RecordsService, "records")
    assert records.max_batch == 500
    assert _group({"ZHIFA_BATCH_SIZE": 40, "ZHIFA_RECORDS_SIGNING_KEY": "8" * 64}, RecordsService, "records").max_batch == 40
    from services.review.service import CASES, ReviewService

    review = _group({"ZHIFA_BATCH_SIZE": None}, ReviewService, CASES["group"])
    assert review.max_batch == 200
