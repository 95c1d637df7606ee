"""Run every benchmark in bench/ in turn (`make bench`); each prints its own figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent

# The server baseline runs first: later benchmarks state their results as ratios to it.
ORDER = ["server_baseline.py"]


def main() -> int:
    scripts = ORDER + sorted(
        p.name for p in BENCH_DIR.glob("*.py") if p.name not in {*ORDER, "run.py", "harness.py"}
    )
    failed = []
    for name in scripts:
        print(f"\n=== {name} ===", flush=True)
        if subprocess.call([sys.executable, str(BENCH_DIR / name)]) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
