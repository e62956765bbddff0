"""`make chaos` (issue 20, PLAT-1): seeded rounds of every fault against the whole suite, a table of
attempted / confirmed / applied once / lost / duplicated / dead-lettered / redelivered per round, and
exit status 1 on any loss, duplicate, dead letter, unconfirmed event, unsettled barrier or failed
records verification. See tests/chaos/harness.py for what a round does and what each column counts.

    python tools/chaos.py [--rounds N] [--seed S] [--faults kill-records,partition,…] [--events N] [--rate R]

ZHIFA_CHAOS_ROUNDS (default 20) and ZHIFA_CHAOS_SEED (default: a random seed, printed) are read when
the options are not given; ZHIFA_CHAOS_DIR (default /tmp/chaos) holds the data folders,
ZHIFA_CHAOS_PARTITION_SECONDS (default 30) is the length of a partition. Needs what `make test`
needs: RabbitMQ (with the shovel plugin) and PostgreSQL's server binaries on this machine. The
broker-node-stop rounds run last, on a three-node RabbitMQ cluster of their own with quorum queues
(deploy/local/rabbitmq-cluster.sh, tests/chaos/node_stop.py).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.common import settings  # noqa: E402
from tests.chaos.harness import FAULTS, ChaosSuite, run_rounds, table  # noqa: E402


NODE_STOP = "broker-node-stop"


def node_stop_rounds(rounds: int, seed: int, events: int, rate: float, barrier_timeout: float = 300.0) -> list:
    """The broker-node-stop fault needs the city suite on a three-node RabbitMQ cluster (started here on
    free ports, stopped at the end; tests/chaos/node_stop.py), so it has a suite of its own."""
    from tests.chaos.node_stop import BrokerNodeStop, cluster_chaos_suite
    from tests.integration.cluster_support import start_cluster, stop_cluster

    log = lambda text: print(text, flush=True)   # noqa: E731
    master, results = random.Random(f"{seed}-{NODE_STOP}"), []
    cluster = start_cluster()
    try:
        with cluster_chaos_suite(cluster, Path(settings.get("ZHIFA_CHAOS_DIR")), log=log) as suite:
            fault = BrokerNodeStop(cluster)
            for n in range(rounds):
                round_seed = master.randrange(1, 2**31)
                log(f"chaos: {fault.name} round {n + 1}/{rounds} seed {round_seed}")
                result = suite.round(fault, round_seed, events=events, rate=rate, barrier_timeout=barrier_timeout)
                log(f"chaos:   {result.summary()}")
                results.append(result)
    finally:
        stop_cluster(cluster)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    seed = settings.get("ZHIFA_CHAOS_SEED")
    parser.add_argument("--rounds", type=int, default=settings.get("ZHIFA_CHAOS_ROUNDS"))
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1, 2**31) if seed is None else seed)
    parser.add_argument("--partition-seconds", type=float, default=settings.get("ZHIFA_CHAOS_PARTITION_SECONDS"))
    parser.add_argument("--promote-after", type=float, default=8.0,
                        help="seconds between the primary's kill and the standby's promotion")
    parser.add_argument("--barrier-timeout", type=float, default=300.0,
                        help="seconds a round waits for the queues to drain and every effect to show")
    parser.add_argument("--json", help="also write the rounds' figures (and problems) to this file")
    known = [*FAULTS, NODE_STOP]
    parser.add_argument("--faults", default=",".join(known), help=f"comma-separated, of: {', '.join(known)}")
    parser.add_argument("--events", type=int, default=300, help="events published per round")
    parser.add_argument("--rate", type=float, default=60.0, help="events per second")
    args = parser.parse_args(argv)
    names = [n for n in args.faults.split(",") if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {known}")
    print(f"chaos: seed {args.seed} (ZHIFA_CHAOS_SEED={args.seed} repeats it), {args.rounds} rounds of "
          f"{', '.join(names)}, {args.events} events per round at {args.rate:g}/s", flush=True)
    started = time.monotonic()
    results = []
    suite = ChaosSuite(root=Path(settings.get("ZHIFA_CHAOS_DIR")), log=lambda text: print(text, flush=True))
    try:
        single = [n for n in names if n != NODE_STOP]
        if single:
            suite.start()
            results += run_rounds(single, args.rounds, args.seed, args.events, args.rate, suite,
                                  log=lambda text: print(text, flush=True), partition_seconds=args.partition_seconds,
                                  promote_after=args.promote_after, barrier_timeout=args.barrier_timeout)
        if NODE_STOP in names:
            suite.close()        # its processes and databases go before the cluster's suite starts
            suite = None
            results += node_stop_rounds(args.rounds, args.seed, args.events, args.rate, args.barrier_timeout)
    except KeyboardInterrupt:
        print("chaos: interrupted — the rounds so far:", flush=True)
    finally:
        if suite is not None:
            suite.close()
        print(table(results), flush=True)
        if args.json:
            Path(args.json).write_text(json.dumps([{**vars(r), "ok": r.ok} for r in results], ensure_ascii=False))
    failed = [r for r in results if not r.ok]
    print(f"chaos: {len(results)} rounds in {time.monotonic() - started:.0f} s, seed {args.seed}: "
          f"{'all passed' if results and not failed else f'{len(failed)} FAILED'}", flush=True)
    for r in failed:
        print(f"  {r.fault} seed {r.seed}: {'; '.join(r.problems[:8])}", flush=True)
    return 0 if results and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
