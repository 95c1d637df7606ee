"""A scenario's SUMO run kept on disk by the scenario's digest, so rerunning an accuracy
measurement only costs the platform's part.

`<cache>/<name>-<digest>/` holds the built scenario (SUMO's inputs and `scenario.json`), the
devices' output as a recording (`replay`'s format) and SUMO's edgeData as `truth.csv.gz`.
A fresh run is written and then read back like a cached one, so both give the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import astuple, fields
from datetime import datetime
from pathlib import Path

from shahr.demo.twin.outputs import EdgeTruth
from shahr.demo.twin.replay import read_recording, write_recording
from shahr.demo.twin.run import Span, simulate
from shahr.demo.twin.scenario import Scenario, build_scenario
from shahr.demo.twin.scenario_specs import ScenarioSpec

TRUTH_FILE = "truth.csv.gz"
DONE_FILE = "complete"
TRUTH_COLUMNS = tuple(f.name for f in fields(EdgeTruth))


def cache_directory(spec: ScenarioSpec, root: Path, window: tuple[int, int] | None = None) -> Path:
    part = "" if window is None else f"-{window[0]}-{window[1]}"
    return root / f"{spec.name}-{spec.digest}{part}"


def simulated(
    spec: ScenarioSpec,
    root: Path,
    *,
    day_start: datetime,
    window: tuple[int, int] | None = None,
    span_s: int = 10**6,
) -> tuple[Scenario, list[Span]]:
    """The scenario and its run (all of it, or the `window` of its day, in seconds) as one
    span; SUMO runs only when the run is not in the cache."""
    directory = cache_directory(spec, root, window)
    begin_s, end_s = window or (spec.demand.begin_s, spec.demand.end_s)
    if not (directory / DONE_FILE).exists():
        scenario = build_scenario(spec, directory)
        spans = list(
            simulate(scenario, day_start=day_start, begin_s=begin_s, end_s=end_s, span_s=span_s)
        )
        write_recording(directory, scenario, spans, day_start=day_start)
        _write_truth(directory / TRUTH_FILE, [edge for span in spans for edge in span.truth])
        (directory / DONE_FILE).write_text(spec.digest, encoding="utf-8")
    recording = read_recording(directory)
    scenario = recording.scenario
    span = recording.span(day_start=day_start, begin_s=begin_s, end_s=end_s)
    truth = _read_truth(directory / TRUTH_FILE)
    return scenario, [
        Span(
            begin_s=span.begin_s,
            end_s=span.end_s,
            readings=span.readings,
            passages=span.passages,
            truth=truth,
            state=None,
        )
    ]


def _write_truth(path: Path, truth: list[EdgeTruth]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRUTH_COLUMNS)
    writer.writerows(astuple(edge) for edge in truth)
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
        packed.write(text.getvalue().encode())


def _read_truth(path: Path) -> list[EdgeTruth]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        return [
            EdgeTruth(
                edge_id=row["edge_id"],
                begin_s=float(row["begin_s"]),
                period_s=float(row["period_s"]),
                speed_kmh=float(row["speed_kmh"]),
                density_veh_km=float(row["density_veh_km"]),
                flow_veh_h=float(row["flow_veh_h"]),
                traveltime_s=float(row["traveltime_s"]),
                sampled_s=float(row["sampled_s"]),
                entered=int(row["entered"]),
            )
            for row in csv.DictReader(file)
        ]
