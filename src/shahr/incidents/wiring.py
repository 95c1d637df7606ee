"""Incidents' composition: the area's ports, with other areas' ports handed in by bootstrap.

Each port is optional so the area stands on its own: without `roads` there is no
recommendation by travel time, without `detectors` no automatic detection, without
`cameras` no nearest cameras; the rest works.
"""

from __future__ import annotations

from shahr.incidents import jobs
from shahr.incidents.domain.incident import TEHRAN, CityBox
from shahr.incidents.domain.units import STALE_AFTER_S
from shahr.incidents.events import IncidentChanged, UnitChanged
from shahr.incidents.gateways.cameras import CameraDirectory
from shahr.incidents.gateways.detector_feed import DetectorFeed
from shahr.incidents.gateways.roads import RoadNetwork
from shahr.incidents.services import INCIDENTS, IncidentsPorts
from shahr.incidents.staff_pages import DASHBOARD_FEED, DASHBOARD_PAGE, UNIT_PAGE, DashboardFeed
from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool

# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {DASHBOARD_PAGE: "Command centre", UNIT_PAGE: "Unit on duty"}
STAFF_TOOL_HINTS = {
    DASHBOARD_PAGE: "Incidents on the live map, detections to confirm, units to dispatch, "
    "and the day's response times.",
    UNIT_PAGE: "Your assignment on your phone: accept, arrive, reopen lanes, clear; "
    "share your position.",
}


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
    _wire_dashboard(container)
    return ports


def _wire_dashboard(container: Container) -> None:
    """The dashboard's live events (this process's streams) and its two staff tools."""
    feed = DashboardFeed()
    container.provide(DASHBOARD_FEED, feed)
    container.bus.subscribe(IncidentChanged, feed.incident_changed, durable="incidents-dashboard")
    container.bus.subscribe(UnitChanged, feed.unit_changed, durable="incidents-dashboard")
    roles = {
        DASHBOARD_PAGE: frozenset({Role.traffic_operator, Role.police_unit}),
        UNIT_PAGE: frozenset({Role.police_unit}),
    }
    for href, title in STAFF_TOOL_TITLES.items():
        container.workspace.add(
            StaffTool(
                href=href, title=title, summary=STAFF_TOOL_HINTS[href], roles=roles[href],
                area="incidents",
            )
        )  # fmt: skip
