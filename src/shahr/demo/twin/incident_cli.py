"""The incident detection table, for iterating on the detectors:

    PYTHONPATH=src .venv/bin/python -m shahr.demo.twin.incident_cli [--cache DIR] [--no-training]

Runs the incident scenarios in SUMO once (kept under `--cache` by their digests), scores
California #7 and the anomaly detector on the training and the evaluation scenarios, and
prints the table with the issue's targets and the seconds SUMO took.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from shahr.demo.twin.incident_report import measure

DEFAULT_CACHE = Path("var") / "twin-cache"


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shahr.demo.twin.incident_cli")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--no-training", action="store_true", help="evaluation scenarios only")
    options = parser.parse_args(arguments)
    started = time.monotonic()
    report = measure(options.cache, with_training=not options.no_training)
    sys.stdout.write(report.table() + "\n")
    sys.stdout.write(
        f"({time.monotonic() - started:.0f} s; SUMO ran for the scenarios not in the cache)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
