"""The demo's police units: six units posted at crossings of the twin, and their AVL.

A real unit's phone page or its car's AVL box reports where it is; the demo has neither,
so `report_at_posts`, run every `REPORT_EVERY_S` (demo wiring), stands in for the AVL boxes
of the units waiting at their posts (a unit out on an incident reports from its own phone
page, as in the field). Without it every demo unit would go stale two minutes after the
seed and none would be recommended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shahr.demo.twin.scenario import Scenario
from shahr.incidents.domain.units import UnitKind, UnitStatus
from shahr.incidents.queries.board import units_board
from shahr.incidents.services.units import register_unit, report_position
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.persian import normalise

# Half the two minutes after which a unit counts as stale: one lost round is forgiven.
REPORT_EVERY_S = 60.0


@dataclass(frozen=True)
class DemoUnit:
    call_sign: str
    kind: UnitKind
    crew: tuple[str, ...]
    post: str  # the twin's junction it waits at


DEMO_UNITS = (
    DemoUnit("راهور ۱۱", UnitKind.patrol_car, ("ستوان رضایی", "سرکار احمدی"), "A0"),
    DemoUnit("راهور ۱۲", UnitKind.patrol_car, ("ستوان کریمی", "سرکار موسوی"), "C2"),
    DemoUnit("راهور ۱۳", UnitKind.patrol_car, ("ستوان حسینی", "سرکار نوری"), "E3"),
    DemoUnit("موتوری ۲۱", UnitKind.motorcycle, ("سرکار جعفری",), "B3"),
    DemoUnit("امداد ۳۱", UnitKind.tow_truck, ("آقای صادقی",), "D1"),
    DemoUnit("رابط اورژانس ۴۱", UnitKind.ambulance_liaison, ("خانم مرادی",), "C0"),
)


def posts_of(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Each junction of the twin at the end of a road into it (lon, lat)."""
    return {edge.to_node: (edge.geometry[-1][0], edge.geometry[-1][1]) for edge in scenario.edges}


async def seed_demo_units(
    database: Database, clock: Clock, bus: EventBus, scenario: Scenario
) -> None:
    """Register the demo units not registered yet, each at its post (idempotent)."""
    posts = posts_of(scenario)
    known = {u.unit.call_sign for u in await units_board(database, clock.now())}
    for spec in DEMO_UNITS:
        if normalise(spec.call_sign) in known or spec.post not in posts:
            continue
        unit = await register_unit(
            database,
            clock,
            bus,
            call_sign=spec.call_sign,
            kind=spec.kind,
            crew=spec.crew,
            actor="demo",
        )
        lon, lat = posts[spec.post]
        await report_position(database, clock, bus, unit.id, lon=lon, lat=lat)


async def report_at_posts(
    database: Database,
    clock: Clock,
    bus: EventBus,
    posts: dict[str, tuple[float, float]],
    units: Sequence[DemoUnit] = DEMO_UNITS,
) -> int:
    """One AVL round: each available demo unit reports at its post. Returns how many did."""
    post_of = {normalise(spec.call_sign): spec.post for spec in units}
    reported = 0
    for on_board in await units_board(database, clock.now()):
        unit = on_board.unit
        post = post_of.get(unit.call_sign)
        if unit.status is not UnitStatus.available or post not in posts:
            continue
        lon, lat = posts[post]
        await report_position(database, clock, bus, unit.id, lon=lon, lat=lat)
        reported += 1
    return reported
