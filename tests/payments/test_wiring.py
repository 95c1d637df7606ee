"""How payments meets the rest: bootstrap's wiring, the bus, the reconciliation job."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from shahr import bootstrap
from shahr.identity.events import CitizenRegistered
from shahr.kernel.bus import EventBus, decode_event, encode_event
from shahr.kernel.principals import Principal, Role
from shahr.kernel.stream import InProcessStream
from shahr.kernel.workspace import Workspace
from shahr.payments import queries, services
from shahr.payments.events import (
    CallbackFlagged,
    PaymentFailed,
    PaymentReversed,
    PaymentVerified,
    RefundIssued,
)
from shahr.payments.gateways import PSP, SandboxPsp
from shahr.payments.wiring import SANDBOX_CONSOLE, list_sandbox_console

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.kernel.clock import FixedClock
    from shahr.kernel.settings import Settings

NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)


async def test_the_app_pays_through_the_sandbox_psp(container: Container) -> None:
    assert isinstance(container.get(PSP), SandboxPsp)
    assert container.get(PSP).name == "sandbox"


async def test_in_demo_mode_a_new_citizen_starts_with_a_demo_wallet_balance_once(
    container: Container, clock: FixedClock
) -> None:
    registered = CitizenRegistered(
        event_id="e-1", citizen_id="new-citizen", occurred_at=clock.now()
    )

    await container.bus.publish(registered)
    await container.bus.drain()
    # A redelivery (same fact, another message) credits nothing more.
    await container.bus.publish(
        CitizenRegistered(event_id="e-2", citizen_id="new-citizen", occurred_at=clock.now())
    )
    await container.bus.drain()

    balance = await services.wallet_balance(container.database, clock, citizen_id="new-citizen")
    assert balance == 2_000_000


@pytest.mark.parametrize(
    "event",
    [
        PaymentVerified("p", "c", "reservation", "r", 1_000, NOW, "e1"),
        PaymentFailed("p", "c", "reservation", "r", "declined", NOW, "e2"),
        PaymentReversed("p", "c", "reservation", "r", 1_000, "no_callback", NOW, "e3"),
        RefundIssued("f", "c", "r", 500, NOW, "e4"),
        CallbackFlagged(7, "sandbox", None, "forged", NOW, "e5"),
    ],
)
def test_every_payments_event_travels_the_bus_unchanged(event: object) -> None:
    bus = EventBus(InProcessStream(), city="test")

    async def ignore(_event: object) -> None:
        return None

    bus.subscribe(type(event), ignore, durable="payments-test")  # refuses what it cannot carry
    assert decode_event(type(event), encode_event(event)) == event


async def test_a_process_that_runs_jobs_reconciles_payments_by_itself(
    settings: Settings, clock: FixedClock
) -> None:
    # Not the demo: the demo would also start the traffic twin and the meter fleet.
    quiet = settings.model_copy(update={"run_jobs": True, "demo": False})
    built = bootstrap.build(quiet, clock=clock)
    await built.start()
    try:
        # The first run starts at once; the database is the only place that shows it ran.
        for _ in range(500):
            if await queries.latest_reconciliation(built.database) is not None:
                break
            await asyncio.sleep(0.01)
        latest = await queries.latest_reconciliation(built.database)
    finally:
        await built.stop()
    assert latest is not None
    assert latest["clean"] is True


async def test_the_sandbox_console_is_an_admin_tool_only_where_the_sandbox_is_the_bank(
    container: Container,
) -> None:
    admin = Principal("admin-1", "staff", "Admin", frozenset({Role.admin}))
    operator = Principal("p-1", "staff", "Operator", frozenset({Role.parking_operator}))
    listed = [tool.href for tool in container.workspace.tools_for(admin)]
    assert SANDBOX_CONSOLE in listed
    assert SANDBOX_CONSOLE not in [t.href for t in container.workspace.tools_for(operator)]

    # In production, even with the sandbox wired, no one is offered the test bank.
    production = replace(
        container,
        settings=container.settings.model_copy(update={"environment": "production"}),
        workspace=Workspace(),
    )
    list_sandbox_console(production, container.get(PSP))
    assert production.workspace.tools_for(admin) == []

    # Nor where another bank is the PSP.
    class RealBank:
        name = "shaparak"

    elsewhere = replace(container, workspace=Workspace())
    list_sandbox_console(elsewhere, RealBank())  # type: ignore[arg-type]  # any non-sandbox PSP
    assert elsewhere.workspace.tools_for(admin) == []
