"""The demo's composition: its simulated meters and the traffic digital twin."""

from __future__ import annotations

from shahr.demo.meters import MeterFleet, inventory_meters
from shahr.demo.twin import TwinFeed
from shahr.kernel.container import Container
from shahr.parking.services import PARKING


def wire_demo(container: Container) -> None:
    """Only in a demo process that runs simulators: tests keep a quiet broker and stream."""
    settings = container.settings
    if not (settings.demo and settings.run_simulators):
        return
    inventory = container.get(PARKING).inventory
    # Wired after parking, so its meter gateway is listening when the meters announce
    # themselves.
    container.background.append(
        MeterFleet(
            container.broker,
            container.clock,
            city=settings.city,
            meters=lambda: inventory_meters(inventory),
        )
    )
    # The SUMO digital twin (or its recorded day when SUMO is absent) feeds the traffic
    # map as field devices would.
    container.background.append(
        TwinFeed(
            container.stream,
            container.database,
            container.clock,
            city=settings.city,
            var_dir=settings.var_dir,
        )
    )
