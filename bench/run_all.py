"""`make bench`: run every benchmark script in bench/ and pass its BENCH lines through.

Each script prints its figures as ``BENCH <name> <value> <unit>``; ratios are measured inside one
script in one run. Extra arguments: names of scripts to run (default: all in BENCHES).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = ["broker_raw.py", "foundation_throughput.py", "records_proofs.py", "records_ingest.py", "suite_mixed.py",
           "handler_cpu.py",
           "portal_search.py", "tier_cut.py",
           "gm_crypto.py", "chaos_node_stop.py"]


def main(argv=None) -> int:
    names = (argv if argv is not None else sys.argv[1:]) or BENCHES
    failed = 0
    for name in names:
        path = HERE / name
        if not path.exists():
            print(f"bench: {name} not present, skipped", file=sys.stderr)
            continue
        print(f"bench: {name}", file=sys.stderr, flush=True)
        proc = subprocess.run([sys.executable, str(path)], cwd=HERE.parent, capture_output=True, text=True)
        for line in proc.stdout.splitlines():
            if line.startswith("BENCH "):
                print(line, flush=True)
        if proc.returncode != 0:
            failed += 1
            print(f"bench: {name} failed ({proc.returncode})\n{proc.stderr[-2000:]}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
