"""The detection job on a feed: a queue that builds up between two loops opens one
tentative incident on the upstream loop's segment, with its evidence; a normal morning
opens none, and a rerun does not open it twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from shahr.incidents import jobs
from shahr.incidents.domain.detection.anomaly import TUNED
from shahr.incidents.domain.detection.live import METHOD
from shahr.incidents.gateways.detector_feed import FixedDetectorFeed, StationMinute, StationPair
from shahr.incidents.queries.queue import incident_detail
from shahr.incidents.services import IncidentsPorts
from shahr.kernel.clock import FixedClock

PAIR = StationPair(
    upstream_detector_id="L-up-1",
    downstream_detector_id="L-down-1",
    segment_id="s-enghelab-2",
    lon=51.4056,
    lat=35.7010,
)
LOOPS = (("L-up-1", "s-enghelab-2", 1), ("L-up-2", "s-enghelab-2", 2))
LOOPS += (("L-down-1", "s-enghelab-3", 1), ("L-down-2", "s-enghelab-3", 2))


def _feed(first: datetime, minutes: int, queue_from: int | None) -> FixedDetectorFeed:
    noise = np.random.default_rng(5).uniform(-0.04, 0.04, (len(LOOPS), minutes))
    rows = []
    for m in range(minutes):
        for index, (detector_id, segment_id, lane) in enumerate(LOOPS):
            occupancy, speed = 0.10 * (1 + noise[index, m]), 45.0 * (1 + noise[index, m])
            flow = 600.0
            if queue_from is not None and m >= queue_from:  # the road past it empties
                occupancy, speed, flow = (
                    (0.5, 10.0, 300.0) if "up" in detector_id else (0.03, 55.0, 250.0)
                )
            rows.append(
                StationMinute(
                    detector_id=detector_id,
                    segment_id=segment_id,
                    lane=lane,
                    interval_start=first + timedelta(minutes=m),
                    occupancy=occupancy,
                    flow_veh_h=flow,
                    speed_kmh=speed,
                )
            )
    return FixedDetectorFeed(rows, [PAIR])


def _window_start(clock: FixedClock) -> datetime:
    until = (clock.now() - timedelta(seconds=jobs.LATENCY_S)).replace(second=0, microsecond=0)
    return until - timedelta(minutes=jobs.WINDOW_MIN)


async def test_a_queue_between_two_loops_opens_one_tentative_incident(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    first = _window_start(clock)
    # The queue starts so that its alarm starts at the window's last minute.
    feed = _feed(first, jobs.WINDOW_MIN, jobs.WINDOW_MIN - TUNED.persistence_min)

    opened = await jobs.detect(ports.database, clock, ports.bus, feed)
    again = await jobs.detect(ports.database, clock, ports.bus, feed)

    assert len(opened) == 1
    assert again == []
    detail = await incident_detail(ports.database, opened[0])
    incident = detail.incident
    assert incident.status.value == "tentative"
    assert incident.location.segment_id == "s-enghelab-2"
    assert incident.evidence["method"] == METHOD
    assert incident.evidence["upstream_detector_id"] == "L-up-1"
    assert incident.evidence["reason"] == "queue"


async def test_a_normal_morning_opens_nothing(ports: IncidentsPorts, clock: FixedClock) -> None:
    feed = _feed(_window_start(clock), jobs.WINDOW_MIN, None)

    assert await jobs.detect(ports.database, clock, ports.bus, feed) == []


async def test_loops_that_sent_nothing_open_nothing(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    assert await jobs.detect(ports.database, clock, ports.bus, FixedDetectorFeed([], [PAIR])) == []
