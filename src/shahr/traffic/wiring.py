"""Traffic's composition: ingest from the sensor stream, the live-state cache, and its jobs."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.kernel.principals import Role
from shahr.kernel.workspace import StaffTool
from shahr.traffic import jobs
from shahr.traffic.ingest import TrafficIngestConsumer
from shahr.traffic.queries.live import LIVE_STATES, LiveStates

DETECTORS_TOOL = "/staff/traffic/detectors"
INVENTORY_TOOL = "/staff/traffic/inventory"
CAMERAS_TOOL = "/staff/traffic/cameras"
# The staff tools' names and summaries: msgids the staff shell translates as it lists them.
STAFF_TOOL_TITLES = {
    DETECTORS_TOOL: "Detector health",
    INVENTORY_TOOL: "Detector inventory",
    CAMERAS_TOOL: "Cameras",
}
STAFF_TOOL_HINTS = {
    DETECTORS_TOOL: "Detectors on the map by health, and the faulty or silent: why and since when.",
    INVENTORY_TOOL: "Add, move and retire loops and plate cameras; each change is kept.",
    CAMERAS_TOOL: "The command centre's cameras: where, which way, their stream and snapshot.",
}


def wire_traffic(container: Container) -> None:
    settings, database, clock, bus = (
        container.settings,
        container.database,
        container.clock,
        container.bus,
    )
    container.provide(LIVE_STATES, LiveStates(database))
    container.workspace.add(
        StaffTool(
            href=DETECTORS_TOOL,
            title=STAFF_TOOL_TITLES[DETECTORS_TOOL],
            summary=STAFF_TOOL_HINTS[DETECTORS_TOOL],
            roles=frozenset({Role.traffic_operator}),
            area="traffic",
        )
    )
    for tool in (INVENTORY_TOOL, CAMERAS_TOOL):
        container.workspace.add(
            StaffTool(
                href=tool,
                title=STAFF_TOOL_TITLES[tool],
                summary=STAFF_TOOL_HINTS[tool],
                roles=frozenset({Role.traffic_operator, Role.admin}),
                area="traffic",
            )
        )
    if settings.run_jobs or not settings.nats_url:
        # Embedded, the one process consumes; at city scale the workers share the durable.
        container.background.append(
            TrafficIngestConsumer(
                database,
                clock,
                container.stream,
                city=settings.city,
                plate_secret=lambda: settings.signing_key,
            )
        )
    if settings.run_jobs:
        container.every(
            "traffic-intervals", jobs.FINALISE_EVERY_S, lambda: jobs.finalise(database, clock, bus)
        )
        container.every(
            "traffic-rollups", jobs.ROLLUP_EVERY_S, lambda: jobs.roll_up_history(database, clock)
        )
        container.every(
            "traffic-pruning", jobs.PRUNE_EVERY_S, lambda: jobs.prune_history(database, clock)
        )
