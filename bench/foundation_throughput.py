"""Foundation throughput: departmental events through one service (records, stock per-event
transactions) on PostgreSQL with durable confirmed messaging, and the ratio to the raw broker rate
measured in the same run.

    python bench/foundation_throughput.py [--n 3000]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker_raw import measure_raw  # noqa: E402
from harness import Publisher, pg_database, service_process, vhost, wait_until  # noqa: E402

from tests.integration import events as ev  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args(argv)
    with vhost() as amqp_uri, pg_database() as url:
        raw = measure_raw(amqp_uri, 20000)
        with service_process("records", amqp_uri, {"records": url}):
            publisher = Publisher(amqp_uri)
            publisher.publish(ev.case_opened(ev.case_id("BENCH-WARMUP")))
            with psycopg.connect(url, autocommit=True) as conn:
                count = lambda: conn.execute("SELECT count(*) FROM log_entries").fetchone()[0]  # noqa: E731
                wait_until(lambda: count() == 1, 60)
                envelopes = [ev.evidence(ev.case_id(f"BENCH-{i % 50}"), n=i) for i in range(args.n)]
                start = time.perf_counter()
                for envelope in envelopes:
                    publisher.publish(envelope)
                end = wait_until(lambda: count() == args.n + 1, 600, interval=0.02)
            publisher.close()
    rate = args.n / (end - start)
    print(f"BENCH broker_raw_msgs_per_s {raw:.0f} msg/s")
    print(f"BENCH foundation_records_pg_events_per_s {rate:.0f} events/s")
    print(f"BENCH foundation_records_vs_raw {rate / raw:.3f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
