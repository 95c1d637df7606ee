"""Plate passages stored once under a daily keyed hash, and the journeys they complete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shahr.traffic.domain.indices import MAX_JOURNEY_S, match_journeys
from shahr.traffic.domain.readings import PlatePassage, plate_key
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.services.ingest_report import IngestReport


async def store_passages(
    uow: TrafficUnitOfWork, passages: Sequence[PlatePassage], secret: str, report: IngestReport
) -> None:
    rows = []
    seen: set[tuple[str, datetime, str]] = set()
    for passage in passages:
        key = plate_key(passage.plate, passage.observed_at, secret)
        if (passage.camera_id, passage.observed_at, key) in seen:
            report.duplicates += 1
            continue
        seen.add((passage.camera_id, passage.observed_at, key))
        rows.append(
            {
                "camera_id": passage.camera_id,
                "observed_at": passage.observed_at,
                "plate_key": key,
                "lane": passage.lane,
            }
        )
    inserted = await uow.readings.insert_passages(rows)
    report.duplicates += len(rows) - len(inserted)
    report.passages = len(inserted)
    if not inserted:
        return
    times = [r["observed_at"] for r in inserted]
    window = timedelta(seconds=MAX_JOURNEY_S)
    sightings = await uow.readings.sightings_of(
        [r["plate_key"] for r in inserted], min(times) - window, max(times) + window
    )
    journeys = match_journeys(sightings)
    new_keys = {(r["camera_id"], r["observed_at"], r["plate_key"]) for r in inserted}
    journey_rows = []
    for journey in journeys:
        arrived_at = journey.departed_at + timedelta(seconds=journey.travel_time_s)
        ends = {
            (journey.to_camera, arrived_at, journey.plate_key),
            (journey.from_camera, journey.departed_at, journey.plate_key),
        }
        if not ends & new_keys:
            continue
        journey_rows.append(
            {
                "to_camera": journey.to_camera,
                "plate_key": journey.plate_key,
                "arrived_at": arrived_at,
                "from_camera": journey.from_camera,
                "departed_at": journey.departed_at,
                "travel_time_s": journey.travel_time_s,
            }
        )
    await uow.readings.save_journeys(journey_rows)
    report.journeys = len(journey_rows)
