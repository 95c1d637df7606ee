"""A recorded day of the twin's device output, to replay where SUMO is not installed.

A recording is a directory: `scenario.json` (the network and sensors, as `build_scenario`
writes it), `readings.csv.gz` (end of period in seconds since the day's midnight, detector,
count, occupancy, speed) and `passages.csv.gz` (milliseconds since midnight, camera, plate,
lane). Times are relative, so the day can be replayed on any date.
`shahr simulate traffic --record DIR` makes one (see `demo/data/twin/README.md`).
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from shahr.demo.twin.run import Span
from shahr.demo.twin.scenario import SCENARIO_FILE, Scenario, load_scenario
from shahr.traffic.domain import DetectorReading, PlatePassage
from shahr.traffic.domain.detectors import DetectorId

READINGS_FILE = "readings.csv.gz"
PASSAGES_FILE = "passages.csv.gz"
READING_COLUMNS = ("end_s", "detector_id", "count", "occupancy_pct", "speed_kmh")
PASSAGE_COLUMNS = ("time_ms", "camera_id", "plate", "lane")
DAY_S = 24 * 3600


@dataclass(frozen=True)
class RecordedReading:
    end_s: int
    detector_id: str
    count: int
    occupancy_pct: float
    speed_kmh: float | None


@dataclass(frozen=True)
class RecordedPassage:
    time_ms: int
    camera_id: str
    plate: str
    lane: int | None


@dataclass(frozen=True)
class Recording:
    scenario: Scenario
    readings: tuple[RecordedReading, ...]  # by end_s
    passages: tuple[RecordedPassage, ...]  # by time_ms

    def span(self, *, day_start: datetime, begin_s: int, end_s: int) -> Span:
        """What the devices sent in [begin_s, end_s) of the day starting at `day_start`."""
        readings = [
            DetectorReading(
                detector_id=DetectorId(r.detector_id),
                observed_at=day_start + timedelta(seconds=r.end_s),
                period_s=self.scenario.period_s,
                count=r.count,
                occupancy_pct=r.occupancy_pct,
                speed_kmh=r.speed_kmh,
            )
            for r in self.readings
            if begin_s < r.end_s <= end_s
        ]
        passages = [
            PlatePassage(
                camera_id=DetectorId(p.camera_id),
                observed_at=day_start + timedelta(milliseconds=p.time_ms),
                plate=p.plate,
                lane=p.lane,
            )
            for p in self.passages
            if begin_s * 1000 <= p.time_ms < end_s * 1000
        ]
        return Span(
            begin_s=begin_s, end_s=end_s, readings=readings, passages=passages, truth=[], state=None
        )


def write_recording(
    directory: Path, scenario: Scenario, spans: Iterable[Span], *, day_start: datetime
) -> tuple[int, int]:
    """Write the spans' readings and passages (and the scenario) into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    if scenario.directory.resolve() != directory.resolve():
        shutil.copyfile(scenario.directory / SCENARIO_FILE, directory / SCENARIO_FILE)
    readings_text, passages_text = io.StringIO(), io.StringIO()
    readings_csv = csv.writer(readings_text, lineterminator="\n")
    passages_csv = csv.writer(passages_text, lineterminator="\n")
    readings_csv.writerow(READING_COLUMNS)
    passages_csv.writerow(PASSAGE_COLUMNS)
    n_readings = n_passages = 0
    for span in spans:
        for reading in span.readings:
            readings_csv.writerow(
                (
                    round((reading.observed_at - day_start).total_seconds()),
                    reading.detector_id,
                    reading.count,
                    f"{reading.occupancy_pct:g}",
                    "" if reading.speed_kmh is None else f"{reading.speed_kmh:.1f}",
                )
            )
            n_readings += 1
        for passage in span.passages:
            passages_csv.writerow(
                (
                    round((passage.observed_at - day_start).total_seconds() * 1000),
                    passage.camera_id,
                    passage.plate,
                    "" if passage.lane is None else passage.lane,
                )
            )
            n_passages += 1
    # mtime=0: the same day recorded twice gives the same bytes.
    for name, text in ((READINGS_FILE, readings_text), (PASSAGES_FILE, passages_text)):
        with (
            (directory / name).open("wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as packed,
        ):
            packed.write(text.getvalue().encode())
    return n_readings, n_passages


def read_recording(directory: Path) -> Recording:
    scenario = load_scenario(directory)
    with gzip.open(directory / READINGS_FILE, "rt", encoding="utf-8", newline="") as file:
        readings = tuple(
            RecordedReading(
                end_s=int(row["end_s"]),
                detector_id=row["detector_id"],
                count=int(row["count"]),
                occupancy_pct=float(row["occupancy_pct"]),
                speed_kmh=float(row["speed_kmh"]) if row["speed_kmh"] else None,
            )
            for row in csv.DictReader(file)
        )
    with gzip.open(directory / PASSAGES_FILE, "rt", encoding="utf-8", newline="") as file:
        passages = tuple(
            RecordedPassage(
                time_ms=int(row["time_ms"]),
                camera_id=row["camera_id"],
                plate=row["plate"],
                lane=int(row["lane"]) if row["lane"] else None,
            )
            for row in csv.DictReader(file)
        )
    return Recording(scenario=scenario, readings=readings, passages=passages)
