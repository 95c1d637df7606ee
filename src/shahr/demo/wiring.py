"""The demo's composition: its simulated meters and the traffic digital twin."""

from __future__ import annotations

import asyncio

from shahr.demo.meters import MeterFleet, inventory_meters
from shahr.demo.twin import TwinFeed
from shahr.demo.twin.feed import DEMO_RECORDING
from shahr.demo.twin.scenario import load_scenario
from shahr.demo.units import REPORT_EVERY_S, posts_of, report_at_posts
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
    # The demo units' AVL boxes: the units waiting at their posts say so every minute.
    posts: dict[str, tuple[float, float]] = {}

    async def avl_round() -> int:
        if not posts:
            posts.update(posts_of(await asyncio.to_thread(load_scenario, DEMO_RECORDING)))
        return await report_at_posts(container.database, container.clock, container.bus, posts)

    container.every("demo-unit-avl", REPORT_EVERY_S, avl_round)
