"""Traffic's aggregation kernel: readings/s on one core, against a bare numpy group-by.

The claim (issue 4): at least 1,000,000 readings/s per core. The baseline is the least a
group-by can do over the same readings in the same run: one `np.unique(..., return_inverse)`
on the (detector, interval) key and one `np.bincount` of the counts. The kernel does both
of its steps: per-(detector, interval) sums (count, seconds, occupancy, harmonic speed),
then per-(segment, interval) state (flow, speed, occupancy, density, v/c, LOS, congestion,
confidence). numpy runs these on one core, so readings/s is per core.

    .venv/bin/python bench/traffic_aggregation.py [--readings 2000000] [--segments 50000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from harness import save
from shahr.traffic.domain.state import (
    DetectorTable,
    ReadingArrays,
    SegmentTable,
    aggregate,
)


def make_readings(
    n: int, segments: int, rng: np.random.Generator
) -> tuple[ReadingArrays, DetectorTable, SegmentTable]:
    detectors = segments * 2  # two lanes each
    intervals = max(1, n // detectors)  # every detector reports once an interval
    lanes = np.full(segments, 2.0)
    detector_table = DetectorTable(
        segment=np.repeat(np.arange(segments, dtype=np.int64), 2),
        lane=np.tile(np.array([1, 2], dtype=np.int64), segments),
        usable=rng.random(detectors) > 0.02,
    )
    segment_table = SegmentTable(
        lanes=lanes,
        free_flow_kmh=rng.choice([30.0, 50.0, 60.0, 80.0], segments),
        capacity_veh_h=lanes * 900.0,
        length_m=rng.uniform(80, 800, segments),
        counting_detectors=np.full(segments, 2.0),
    )
    detector = rng.integers(0, detectors, n, dtype=np.int64)
    speed = rng.uniform(5, 90, n)
    speed[rng.random(n) < 0.3] = np.nan  # single loops: no speed
    readings = ReadingArrays(
        detector=detector,
        interval=29_000_000 + rng.integers(0, intervals, n, dtype=np.int64),
        count=rng.integers(0, 40, n).astype(np.float64),
        period_s=np.full(n, 30.0),
        occupancy_pct=rng.uniform(0, 60, n),
        speed_kmh=speed,
    )
    return readings, detector_table, segment_table


def best_of(repeats: int, run: object) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=2_000_000)
    parser.add_argument("--segments", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(4)
    readings, detectors, segments = make_readings(args.readings, args.segments, rng)
    n = len(readings)

    def kernel() -> None:
        aggregate(readings, detectors, segments)

    def bare() -> None:
        first = readings.interval.min()
        key = readings.detector * (readings.interval.max() - first + 1) + (
            readings.interval - first
        )
        _, group = np.unique(key, return_inverse=True)
        np.bincount(group, weights=readings.count)

    kernel()  # warm up
    t_kernel = best_of(args.repeats, kernel)
    t_bare = best_of(args.repeats, bare)
    states = aggregate(readings, detectors, segments)
    figures = {
        "readings": n,
        "segments": args.segments,
        "segment_states": len(states),
        "kernel_readings_per_s": round(n / t_kernel),
        "bare_groupby_readings_per_s": round(n / t_bare),
        "kernel_vs_bare_ratio": round(t_bare / t_kernel, 3),
        "cpu_count": os.cpu_count(),
    }
    print(f"traffic aggregation kernel, {n:,} readings over {args.segments:,} segments, one core")
    print(f"  kernel:             {n / t_kernel:>14,.0f} readings/s  ({t_kernel * 1000:.0f} ms)")
    print(f"  bare numpy groupby: {n / t_bare:>14,.0f} readings/s  ({t_bare * 1000:.0f} ms)")
    print(
        f"  kernel / bare speed: {t_bare / t_kernel:.2f}"
        " (the kernel does two group-bys and the state)"
    )
    print(f"  target 1,000,000 readings/s per core: {'met' if n / t_kernel >= 1e6 else 'NOT met'}")
    save("traffic_aggregation", figures)


if __name__ == "__main__":
    main()
