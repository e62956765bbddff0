"""`make chaos` (issue 20, PLAT-1): seeded rounds of every fault against the whole suite, a table of
attempted / confirmed / applied once / lost / duplicated / dead-lettered / redelivered per round, and
exit status 1 on any loss, duplicate, dead letter, unconfirmed event, unsettled barrier or failed
records verification. See tests/chaos/harness.py for what a round does and what each column counts.

    python tools/chaos.py [--rounds N] [--seed S] [--faults kill-records,partition,…] [--events N] [--rate R]

ZHIFA_CHAOS_ROUNDS (default 20) and ZHIFA_CHAOS_SEED (default: a random seed, printed) are read when
the options are not given; ZHIFA_CHAOS_DIR (default /tmp/chaos) holds the data folders,
ZHIFA_CHAOS_PARTITION_SECONDS (default 30) is the length of a partition. Needs what `make test`
needs: RabbitMQ (with the shovel plugin) and PostgreSQL's server binaries on this machine.
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
    parser.add_argument("--faults", default=",".join(FAULTS), help=f"comma-separated, of: {', '.join(FAULTS)}")
    parser.add_argument("--events", type=int, default=300, help="events published per round")
    parser.add_argument("--rate", type=float, default=60.0, help="events per second")
    args = parser.parse_args(argv)
    names = [n for n in args.faults.split(",") if n]
    unknown = [n for n in names if n not in FAULTS]
    if unknown:
        parser.error(f"unknown faults {unknown}; known: {list(FAULTS)}")
    print(f"chaos: seed {args.seed} (ZHIFA_CHAOS_SEED={args.seed} repeats it), {args.rounds} rounds of "
          f"{', '.join(names)}, {args.events} events per round at {args.rate:g}/s", flush=True)
    started = time.monotonic()
    results = []
    suite = ChaosSuite(root=Path(settings.get("ZHIFA_CHAOS_DIR")), log=lambda text: print(text, flush=True))
    try:
        suite.start()
        results = run_rounds(names, args.rounds, args.seed, args.events, args.rate, suite,
                             log=lambda text: print(text, flush=True), partition_seconds=args.partition_seconds,
                             promote_after=args.promote_after, barrier_timeout=args.barrier_timeout)
    except KeyboardInterrupt:
        print("chaos: interrupted — the rounds so far:", flush=True)
    finally:
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
