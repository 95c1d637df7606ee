"""Incidents' composition: the area's ports, with other areas' ports handed in by bootstrap.

Each port is optional so the area stands on its own: without `roads` there is no
recommendation by travel time, without `detectors` no automatic detection, without
`cameras` no nearest cameras; the rest works.
"""

from __future__ import annotations

from shahr.incidents import jobs
from shahr.incidents.domain.incident import TEHRAN, CityBox
from shahr.incidents.domain.units import STALE_AFTER_S
from shahr.incidents.gateways.cameras import CameraDirectory
from shahr.incidents.gateways.detector_feed import DetectorFeed
from shahr.incidents.gateways.roads import RoadNetwork
from shahr.incidents.services import INCIDENTS, IncidentsPorts
from shahr.kernel.container import Container


def wire_incidents(
    container: Container,
    *,
    roads: RoadNetwork | None = None,
    detectors: DetectorFeed | None = None,
    cameras: CameraDirectory | None = None,
    box: CityBox = TEHRAN,
    stale_after_s: float = STALE_AFTER_S,
) -> IncidentsPorts:
    ports = IncidentsPorts(
        database=container.database,
        clock=container.clock,
        bus=container.bus,
        box=box,
        stale_after_s=stale_after_s,
        roads=roads,
        detectors=detectors,
        cameras=cameras,
    )
    container.provide(INCIDENTS, ports)
    if detectors is not None and container.settings.run_jobs:
        container.every(
            "incidents-detect",
            jobs.DETECT_EVERY_S,
            lambda: jobs.detect(container.database, container.clock, container.bus, detectors),
        )
    return ports
