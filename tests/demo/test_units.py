"""The demo's police units: seeded once at their posts, and kept fresh by their AVL rounds."""

from __future__ import annotations

from datetime import timedelta

from shahr.bootstrap import Container
from shahr.demo.services import seed_demo_city
from shahr.demo.twin.feed import DEMO_RECORDING
from shahr.demo.twin.scenario import load_scenario
from shahr.demo.units import DEMO_UNITS, posts_of, report_at_posts
from shahr.incidents.domain.units import UnitStatus
from shahr.incidents.queries.board import units_board
from shahr.incidents.services.units import set_unit_status
from shahr.kernel.clock import FixedClock
from shahr.kernel.persian import normalise


async def test_the_seed_posts_each_demo_unit_once_at_a_crossing_of_the_twin(
    container: Container,
) -> None:
    await seed_demo_city(container)
    await seed_demo_city(container)

    board = await units_board(container.database, container.clock.now())
    assert sorted(u.unit.call_sign for u in board) == sorted(
        normalise(s.call_sign) for s in DEMO_UNITS
    )
    posts = posts_of(load_scenario(DEMO_RECORDING))
    by_sign = {normalise(s.call_sign): s for s in DEMO_UNITS}
    for on_board in board:
        position = on_board.unit.position
        assert position is not None
        assert (position.lon, position.lat) == posts[by_sign[on_board.unit.call_sign].post]
        assert not on_board.stale
        assert on_board.unit.status is UnitStatus.available


async def test_the_avl_rounds_keep_waiting_units_fresh_and_leave_the_others_alone(
    container: Container, clock: FixedClock
) -> None:
    await seed_demo_city(container)
    database, bus = container.database, container.bus
    board = await units_board(database, clock.now())
    resting = board[0].unit
    await set_unit_status(database, clock, bus, resting.id, UnitStatus.out_of_service, actor="test")

    clock.advance(timedelta(minutes=10))
    posts = posts_of(load_scenario(DEMO_RECORDING))
    reported = await report_at_posts(database, clock, bus, posts)

    board = await units_board(database, clock.now())
    assert reported == len(DEMO_UNITS) - 1
    fresh = {u.unit.call_sign: not u.stale for u in board}
    assert fresh.pop(resting.call_sign) is True  # out of service: nobody waits for it
    assert all(fresh.values())
    (out,) = [u for u in board if u.unit.id == resting.id]
    assert out.position_age_s is not None
    assert out.position_age_s >= 600
