"""Two dispatchers send the same unit at once: exactly one wins, the other is told."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from shahr.incidents.domain.units import UnitStatus
from shahr.incidents.persistence import DispatchRow, UnitStatusRow
from shahr.incidents.queries.board import units_board
from shahr.incidents.queries.queue import incident_detail
from shahr.incidents.services import IncidentsPorts
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.errors import ConflictError

from .test_dispatch_flow import a_crash, a_unit

ROUNDS = 6


async def test_two_dispatchers_sending_one_unit_at_once_one_wins_the_other_is_refused(
    ports: IncidentsPorts,
) -> None:
    db, clock, bus = ports.database, ports.clock, ports.bus
    for round_ in range(ROUNDS):
        unit_id = await a_unit(ports, f"P-{round_}")
        left, right = await a_crash(ports), await a_crash(ports)

        outcomes = await asyncio.gather(
            dispatching.dispatch(db, clock, bus, left, unit_id, actor="dispatcher-a"),
            dispatching.dispatch(db, clock, bus, right, unit_id, actor="dispatcher-b"),
            return_exceptions=True,
        )

        won = [o for o in outcomes if not isinstance(o, BaseException)]
        lost = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(won) == 1
        assert len(lost) == 1
        assert isinstance(lost[0], ConflictError), repr(lost[0])
        winner = left if outcomes[0] is won[0] else right
        loser = right if winner == left else left
        assert won[0].incident_id == winner
        assert (await incident_detail(db, loser)).incident.timeline.dispatched is None
        assert [a.action for a in (await incident_detail(db, loser)).audit] == ["report"]

    async with db.session() as session:
        live = await session.scalar(select(func.count()).select_from(DispatchRow))
        dispatched = await session.scalar(
            select(func.count())
            .select_from(UnitStatusRow)
            .where(UnitStatusRow.status == UnitStatus.dispatched.value)
        )
    assert live == ROUNDS
    assert dispatched == ROUNDS
    board = await units_board(db, clock.now())
    assert {u.unit.status for u in board} == {UnitStatus.dispatched}
