"""How bootstrap wires payments: the sandbox PSP, and demo wallets for new citizens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shahr.identity.events import CitizenRegistered
from shahr.payments import services
from shahr.payments.gateways import SandboxPsp

if TYPE_CHECKING:
    from shahr.bootstrap import Container
    from shahr.kernel.clock import FixedClock


async def test_the_app_pays_through_the_sandbox_psp(container: Container) -> None:
    assert isinstance(container.extras["psp"], SandboxPsp)
    assert container.extras["psp"].name == "sandbox"


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
