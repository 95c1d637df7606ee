"""Incidents' scheduled jobs (wired in bootstrap): automatic incident detection.

`detect` runs every minute: it reads the last `WINDOW_MIN` minutes of every loop through
the detector feed, runs the anomaly detector (`domain.detection.anomaly`) on each station
pair, and opens a tentative incident for each alarm that starts at the latest minute; the
core service refuses a second incident on a segment that already has one, so a rerun or a
second worker opens nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from shahr.incidents.domain.detection.live import METHOD, WINDOW_MIN, PairAlarm, new_alarms
from shahr.incidents.domain.detection.series import LaneMinute
from shahr.incidents.gateways.detector_feed import DetectorFeed, StationMinute, StationPair
from shahr.incidents.services.incidents import open_detected
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database

DETECT_EVERY_S = 60.0
# Loops report at the end of their minute and traffic adds them up within seconds; a
# minute is read once it is this old.
LATENCY_S = 30


def _minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def station_pairs_of(
    rows: Sequence[StationMinute], pairs: Sequence[StationPair]
) -> tuple[list[tuple[str, str]], list[StationPair]]:
    """Detector pairs as station pairs, a station being the loops of one segment; pairs
    within a segment, with a detector that sent nothing, or repeated, are left out."""
    segment_of = {row.detector_id: row.segment_id for row in rows}
    stations: list[tuple[str, str]] = []
    kept: list[StationPair] = []
    for pair in pairs:
        up = segment_of.get(pair.upstream_detector_id)
        down = segment_of.get(pair.downstream_detector_id)
        if up is None or down is None or up == down or (up, down) in stations:
            continue
        stations.append((up, down))
        kept.append(pair)
    return stations, kept


def lane_minutes(rows: Sequence[StationMinute], since: datetime) -> list[LaneMinute]:
    return [
        LaneMinute(
            station=row.segment_id,
            lane=row.lane or 1,
            minute=int((row.interval_start - since).total_seconds() // 60),
            occupancy=row.occupancy,
            flow_veh_h=row.flow_veh_h,
            speed_kmh=row.speed_kmh,
        )
        for row in rows
    ]


def _evidence(alarm: PairAlarm, pair: StationPair, minute: datetime) -> dict[str, object]:
    return {
        "reason": alarm.reason,
        "upstream_detector_id": pair.upstream_detector_id,
        "downstream_detector_id": pair.downstream_detector_id,
        "minute": minute.isoformat(),
        "upstream_occupancy": alarm.upstream_occupancy,
        "downstream_occupancy": alarm.downstream_occupancy,
    }


async def detect(database: Database, clock: Clock, bus: EventBus, feed: DetectorFeed) -> list[str]:
    """Open a tentative incident for each new alarm; the ids of those opened."""
    until = _minute_floor(clock.now() - timedelta(seconds=LATENCY_S))
    since = until - timedelta(minutes=WINDOW_MIN)
    rows = await feed.station_minutes(since, until)
    stations, pairs = station_pairs_of(rows, await feed.station_pairs())
    alarms = new_alarms(lane_minutes(rows, since), stations, WINDOW_MIN)
    opened = []
    last_minute = until - timedelta(minutes=1)
    for alarm in alarms:
        pair = pairs[alarm.pair]
        incident_id = await open_detected(
            database,
            clock,
            bus,
            segment_id=pair.segment_id,
            lon=pair.lon,
            lat=pair.lat,
            detected_at=until,
            method=METHOD,
            score=alarm.score,
            evidence=_evidence(alarm, pair, last_minute),
        )
        if incident_id is not None:
            opened.append(incident_id)
    return opened
