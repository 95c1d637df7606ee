"""The day's key figures: incidents by type, false alarms, the median times of the FHWA
timeline, and secondary incidents.

Times (medians over the day's incidents that have both marks, dismissed ones excluded):
to detect T1-T0 (only where T0 is known), to verify T2-T1, to dispatch T3-T1, to arrive
T4-T3 (travel), roadway clearance T5-T1 and incident clearance T6-T1 (FHWA RCT and ICT).

Secondary incidents. B is secondary to an earlier incident A when both hold:
- in time: B was detected after A and before A was cleared plus `SECONDARY_AFTER_S`
  (A still open counts as not yet cleared);
- in space, upstream of A within `SECONDARY_WITHIN_M`: B's segment is one of A's linked
  upstream segments, or the same segment behind A (smaller offset); or, where segments are
  not known, B is within the distance in a straight line and behind A: A lies ahead of B
  along A's direction of travel (within 90 degrees of A's bearing).
Each B is counted once, even if it follows several primaries.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from shahr.incidents.domain.incident import Incident, IncidentStatus
from shahr.incidents.domain.timeline import Mark
from shahr.incidents.persistence import IncidentRow, IncidentSegmentRow, incident_of
from shahr.kernel.clock import TEHRAN
from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat, haversine_m

SECONDARY_WITHIN_M = 1600.0  # about a mile: the queue behind a primary on an arterial
SECONDARY_AFTER_S = 3600.0  # the queue's tail outlives the clearance by up to an hour

# (name, from mark, to mark) for each median time.
TIMES = (
    ("to_detect", Mark.occurred, Mark.detected),
    ("to_verify", Mark.detected, Mark.verified),
    ("to_dispatch", Mark.detected, Mark.dispatched),
    ("to_arrive", Mark.dispatched, Mark.arrived),
    ("roadway_clearance", Mark.detected, Mark.lanes_reopened),
    ("incident_clearance", Mark.detected, Mark.cleared),
)


@dataclass(frozen=True)
class DayKpis:
    day: date  # in Tehran
    incidents: int  # reported that day, dismissed ones excluded
    by_type: dict[str, int]
    by_source: dict[str, int]
    tentative: int
    dismissed: int  # false alarms (detections and reports dismissed)
    open: int
    cleared: int  # cleared or closed
    median_s: dict[str, float | None]  # by the names in TIMES
    secondary: int
    secondary_ids: tuple[str, ...]


def tehran_day(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=TEHRAN)
    return start, start + timedelta(days=1)


def _bearing(a: LonLat, b: LonLat) -> float:
    """Initial bearing from a to b, degrees clockwise from north."""
    lat_a, lat_b = math.radians(a.lat), math.radians(b.lat)
    dlon = math.radians(b.lon - a.lon)
    x = math.sin(dlon) * math.cos(lat_b)
    y = math.cos(lat_a) * math.sin(lat_b) - math.sin(lat_a) * math.cos(lat_b) * math.cos(dlon)
    return math.degrees(math.atan2(x, y)) % 360.0


def _behind(primary: Incident, later: Incident, upstream: Mapping[str, frozenset[str]]) -> bool:
    """`later` is upstream of `primary`, within the distance (see the module's rule)."""
    a, b = primary.location, later.location
    here, there = LonLat(a.lon, a.lat), LonLat(b.lon, b.lat)
    if haversine_m(here, there) > SECONDARY_WITHIN_M:
        return False
    if b.segment_id and b.segment_id in upstream.get(primary.id, frozenset()):
        return True
    if a.segment_id and b.segment_id == a.segment_id:
        return b.offset_m <= a.offset_m
    if a.bearing_deg is None or here == there:
        return False
    towards_primary = _bearing(there, here)
    return abs((towards_primary - a.bearing_deg + 180.0) % 360.0 - 180.0) <= 90.0


def secondary_incidents(
    incidents: Sequence[Incident], upstream: Mapping[str, frozenset[str]]
) -> list[str]:
    """The ids of the incidents secondary to another (see the module's rule)."""
    live = sorted(
        (
            (i.timeline.detected, i)
            for i in incidents
            if i.status is not IncidentStatus.dismissed and i.timeline.detected
        ),
        key=lambda pair: pair[0] or pair[1].created_at,
    )
    found: list[str] = []
    for index, (seen, later) in enumerate(live):
        for start, primary in live[:index]:
            cleared = primary.timeline.cleared
            until = cleared + timedelta(seconds=SECONDARY_AFTER_S) if cleared else None
            in_time = start is not None and seen is not None and start < seen
            if in_time and (until is None or seen <= until) and _behind(primary, later, upstream):
                found.append(later.id)
                break
    return found


def day_kpis_of(
    day: date, incidents: Sequence[Incident], upstream: Mapping[str, frozenset[str]]
) -> DayKpis:
    kept = [i for i in incidents if i.status is not IncidentStatus.dismissed]
    medians: dict[str, float | None] = {}
    for name, start, end in TIMES:
        values = [v for i in kept if (v := i.timeline.between(start, end)) is not None]
        medians[name] = statistics.median(values) if values else None
    secondary = secondary_incidents(kept, upstream)
    statuses = Counter(i.status for i in incidents)
    return DayKpis(
        day=day,
        incidents=len(kept),
        by_type=dict(Counter(i.kind.value for i in kept)),
        by_source=dict(Counter(i.source.value for i in incidents)),
        tentative=statuses[IncidentStatus.tentative],
        dismissed=statuses[IncidentStatus.dismissed],
        open=statuses[IncidentStatus.open],
        cleared=statuses[IncidentStatus.cleared] + statuses[IncidentStatus.closed],
        median_s=medians,
        secondary=len(secondary),
        secondary_ids=tuple(secondary),
    )


async def day_kpis(database: Database, day: date) -> DayKpis:
    """The KPIs of the incidents reported on `day` (a Tehran calendar day)."""
    start, end = tehran_day(day)
    async with database.session() as session:
        rows = (
            await session.scalars(
                select(IncidentRow).where(
                    IncidentRow.created_at >= start, IncidentRow.created_at < end
                )
            )
        ).all()
        ids = [row.id for row in rows]
        links = (
            await session.execute(
                select(IncidentSegmentRow.incident_id, IncidentSegmentRow.segment_id).where(
                    IncidentSegmentRow.incident_id.in_(ids), IncidentSegmentRow.role == "upstream"
                )
            )
        ).all()
    upstream: dict[str, set[str]] = {}
    for incident_id, segment_id in links:
        upstream.setdefault(incident_id, set()).add(segment_id)
    return day_kpis_of(
        day, [incident_of(row) for row in rows], {k: frozenset(v) for k, v in upstream.items()}
    )
