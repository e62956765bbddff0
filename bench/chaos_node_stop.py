"""Broker node stop on a three-node RabbitMQ cluster (issue 20, PLAT-1): lost and duplicated effects, and
the throughput of quorum queues next to classic ones, measured in the same run on the same cluster.

    python bench/chaos_node_stop.py [--rounds 1] [--events 300] [--rate 60] [--n 5000] [--seed S]

Starts the cluster of the tests (deploy/local/rabbitmq-cluster.sh, free ports, temp dir, stopped at
the end), then
1. the broker's end-to-end rate (persistent ~1 KB JSON, publisher confirms, manual acks: bench/broker_raw)
   through a classic queue and through a quorum queue (replicated on the three nodes), alternated,
   the best of two each:
     BENCH quorum_vs_classic_classic_msgs_per_s <rate> msg/s
     BENCH quorum_vs_classic_quorum_msgs_per_s <rate> msg/s
     BENCH quorum_vs_classic_ratio <quorum / classic> ratio
2. ``--rounds`` chaos rounds (tests/chaos/harness.py with the broker-node-stop fault, tests/chaos/node_stop.py):
   the city suite on the cluster with quorum queues, a confirming publisher sending the seeded case mix,
   the node leading the busiest queues stopped mid-stream for 10 s; summed over the rounds:
     BENCH chaos_node_stop_lost <n> events
     BENCH chaos_node_stop_duplicated <n> events
   (and dead-lettered / redelivered), with the harness's table on stderr. Exit status 1 if a round failed.
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from broker_raw import measure_raw  # noqa: E402

from tests.chaos.harness import table  # noqa: E402
from tests.chaos.node_stop import BrokerNodeStop, cluster_chaos_suite  # noqa: E402
from tests.integration.cluster_support import start_cluster, stop_cluster  # noqa: E402


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def throughput(cluster, n: int) -> tuple[float, float]:
    vhost = cluster.add_vhost("zhifa-bench-quorum")
    uri = cluster.uri(vhost, [1])
    best = {"classic": 0.0, "quorum": 0.0}
    try:
        for _ in range(2):
            for kind, arguments in (("classic", None), ("quorum", {"x-queue-type": "quorum"})):
                rate = measure_raw(uri, n, arguments=arguments)
                log(f"chaos_node_stop: {kind} {rate:.0f} msg/s")
                best[kind] = max(best[kind], rate)
    finally:
        cluster.ctl(cluster.asking(), "delete_vhost", vhost)
    return best["classic"], best["quorum"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=60.0)
    parser.add_argument("--n", type=int, default=5000, help="messages per throughput measurement")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    cluster = start_cluster()
    results = []
    try:
        classic, quorum = throughput(cluster, args.n)
        print(f"BENCH quorum_vs_classic_classic_msgs_per_s {classic:.0f} msg/s", flush=True)
        print(f"BENCH quorum_vs_classic_quorum_msgs_per_s {quorum:.0f} msg/s", flush=True)
        print(f"BENCH quorum_vs_classic_ratio {quorum / classic:.2f} ratio", flush=True)
        master = random.Random(seed)
        with cluster_chaos_suite(cluster, log=log) as suite:
            fault = BrokerNodeStop(cluster, duration=10.0)
            for n in range(args.rounds):
                round_seed = master.randrange(1, 2**31)
                log(f"chaos_node_stop: round {n + 1}/{args.rounds} seed {round_seed} (--seed {seed})")
                results.append(suite.round(fault, round_seed, events=args.events, rate=args.rate))
    finally:
        stop_cluster(cluster)
    log(table(results))
    for r in results:
        for line in r.notes + r.problems:
            log(f"  {line}")
    print(f"BENCH chaos_node_stop_lost {sum(r.lost for r in results)} events", flush=True)
    print(f"BENCH chaos_node_stop_duplicated {sum(r.duplicated for r in results)} events", flush=True)
    print(f"BENCH chaos_node_stop_dead_lettered {sum(r.dead_lettered for r in results)} events", flush=True)
    print(f"BENCH chaos_node_stop_redelivered {sum(r.redelivered for r in results)} events", flush=True)
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
