"""Plate passages stored once under a daily keyed hash, and the journeys they complete."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from shahr.traffic.domain.indices import MAX_JOURNEY_S, match_journeys
from shahr.traffic.domain.readings import PlatePassage, plate_key
from shahr.traffic.domain.state import interval_index
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import current_registry
from shahr.traffic.services.ingest_report import IngestReport
from shahr.traffic.services.journey_fusion import FusionReport, fuse_journeys


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
    journey_rows: list[dict[str, Any]] = []
    arrivals: set[int] = set()
    for journey in journeys:
        arrived_at = journey.departed_at + timedelta(seconds=journey.travel_time_s)
        ends = {
            (journey.to_camera, arrived_at, journey.plate_key),
            (journey.from_camera, journey.departed_at, journey.plate_key),
        }
        if not ends & new_keys:
            continue
        arrivals.add(interval_index(arrived_at))
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
    if journey_rows:
        registry = await current_registry(uow.database)
        fusion = await fuse_journeys(uow, registry, sorted(arrivals), datetime.now(UTC))
        note_fusion(report, fusion)


def note_fusion(report: IngestReport, fusion: FusionReport) -> None:
    """Count what a fusion run did in the ingest report: nothing refused goes unsaid."""
    report.segment_states += fusion.fused  # so that the batch marks the states as changed
    report.journeys_unused += fusion.unused_journeys
    report.journey_pairs_refused.update(
        {f"{a}>{b}": "clock_skew" for a, b in fusion.skewed_pairs}
        | {f"{a}>{b}": "no_route" for a, b in fusion.no_route}
    )
