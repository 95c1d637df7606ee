"""Steps payments' tests repeat: the app's sandbox bank, paying there, reading the books."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import text

from shahr.kernel.db import Database
from shahr.parking.gateways import StartedPayment
from shahr.payments.gateways import PSP, BankAnswer, SandboxPsp, SandboxScenario
from shahr.payments.services import PaymentStart

if TYPE_CHECKING:
    from shahr.bootstrap import Container

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


def sandbox_psp(container: Container) -> SandboxPsp:
    """The sandbox PSP as bootstrap wired it: the one place tests read it from."""
    gateway = container.get(PSP)
    assert isinstance(gateway, SandboxPsp)
    return gateway


def token_of(start: PaymentStart | StartedPayment) -> str:
    """The bank page's token, from where payments (or parking's port) sends the citizen."""
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
