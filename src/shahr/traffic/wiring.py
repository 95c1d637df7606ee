"""Traffic's composition: ingest from the sensor stream, the live-state cache, and its jobs."""

from __future__ import annotations

from shahr.kernel.container import Container
from shahr.traffic import jobs
from shahr.traffic.ingest import TrafficIngestConsumer
from shahr.traffic.queries.live import LIVE_STATES, LiveStates


def wire_traffic(container: Container) -> None:
    settings, database, clock, bus = (
        container.settings,
        container.database,
        container.clock,
        container.bus,
    )
    container.provide(LIVE_STATES, LiveStates(database))
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
