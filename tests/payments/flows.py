"""Steps payments' tests repeat: a bus that records, paying at the sandbox bank, the books."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from shahr.kernel.bus import EventBus
from shahr.kernel.db import Database
from shahr.payments.gateways import BankAnswer, SandboxPsp, SandboxScenario
from shahr.payments.services import PaymentStart

CSRF = "c" * 43
# Sixteen digits that pass the Luhn check, as the sandbox asks.
CARD = "6037 9900 0000 0006"
CITIZEN = "citizen-aaaa"
OTHER_CITIZEN = "citizen-bbbb"
PAYMENTS_TABLES = (
    "payments_account",
    "payments_transaction",
    "payments_entry",
    "payments_order",
    "payments_refund",
)


class RecordingBus(EventBus):
    """The app's bus, keeping a list of what was published (a fake that still publishes)."""

    def __init__(self, inner: EventBus) -> None:
        self._inner = inner
        self.published: list[object] = []

    async def publish(self, event: object) -> None:
        self.published.append(event)
        await self._inner.publish(event)

    def of(self, event_type: type[Any]) -> list[Any]:
        return [e for e in self.published if isinstance(e, event_type)]


def token_of(start: PaymentStart) -> str:
    assert start.redirect_url is not None
    return start.redirect_url.rsplit("/", 1)[-1]


async def pay_at_bank(
    psp: SandboxPsp, token: str, scenario: SandboxScenario = SandboxScenario.normal
) -> BankAnswer:
    """What the citizen does on the bank's page: type a card and press Pay."""
    return await psp.pay(
        token,
        card_number=CARD,
        cvv2="123",
        expiry_month="12",
        expiry_year="08",
        pin="123456",
        scenario=scenario,
    )


async def count_rows(database: Database, table: str) -> int:
    async with database.session() as session:
        return int((await session.execute(text(f"SELECT COUNT(*) FROM {table}"))).scalar_one())  # noqa: S608  # table names are constants


async def row_counts(database: Database) -> dict[str, int]:
    return {table: await count_rows(database, table) for table in PAYMENTS_TABLES}


async def balances(database: Database) -> dict[str, int]:
    """Every account's balance derived from its entries."""
    async with database.session() as session:
        rows = await session.execute(
            text("SELECT account_id, SUM(amount_rial) FROM payments_entry GROUP BY account_id")
        )
        return {account: int(total) for account, total in rows}
