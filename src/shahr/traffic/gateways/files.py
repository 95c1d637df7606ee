"""Readings files for back-fill: JSON Lines of stream payloads, or CSV with a header."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shahr.traffic.domain.readings import parse_time, split_payload

CSV_COLUMNS = ("detector_id", "observed_at", "period_s", "count", "occupancy_pct", "speed_kmh")


@dataclass
class TimeBounds:
    """The first and last `observed_at` seen while reading, for the rollup afterwards."""

    first: datetime | None = None
    last: datetime | None = None

    def see(self, value: object) -> None:
        moment = parse_time(value)
        if moment is None:
            return
        self.first = moment if self.first is None else min(self.first, moment)
        self.last = moment if self.last is None else max(self.last, moment)


def _number(text: str) -> int | float | str | None:
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # left for ingest to refuse as malformed


def read_payloads(path: Path, bounds: TimeBounds) -> Iterator[bytes]:
    """Each reading or batch in the file as a payload; bad lines pass on to be counted."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as file:
            for row in csv.DictReader(file):
                item = {key: row.get(key, "") for key in CSV_COLUMNS}
                payload = {
                    "detector_id": item["detector_id"],
                    "observed_at": item["observed_at"],
                    **{k: _number(item[k] or "") for k in CSV_COLUMNS[2:]},
                }
                bounds.see(payload["observed_at"])
                yield json.dumps(payload).encode()
        return
    with path.open("rb") as file:
        for line in file:
            line = line.strip()
            if not line:
                continue
            for found in split_payload(line):
                if isinstance(found, dict):
                    bounds.see(found.get("observed_at"))
            yield line
