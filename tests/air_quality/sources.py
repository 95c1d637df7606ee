"""The published air-quality stations, read from the shared data about Tehran."""

from __future__ import annotations

import csv
from pathlib import Path

from shahr.air_quality.domain import AqStation, station_from_source

STATIONS_CSV = Path(__file__).resolve().parents[3] / "shared/data/tehran/air_quality/stations.csv"


def published_stations() -> list[AqStation]:
    with STATIONS_CSV.open(encoding="utf-8", newline="") as file:
        return [
            station_from_source(row["name_fa"], lon=float(row["lon"]), lat=float(row["lat"]))
            for row in csv.DictReader(file)
        ]
