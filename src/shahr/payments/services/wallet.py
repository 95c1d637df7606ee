"""The wallet: its balance and history, and the demo balance every wallet starts with."""

from __future__ import annotations

import uuid
from dataclasses import replace

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    DEMO_WALLET_RIAL,
    TransactionId,
    WalletStatement,
    demo_credit_key,
    demo_credit_transaction,
    wallet_account,
)
from shahr.payments.persistence import PaymentsUnitOfWork

# How many lines of a wallet's history the wallet shows.
STATEMENT_LINES = 20


async def ensure_demo_wallet(
    database: Database, clock: Clock, *, citizen_id: str, amount_rial: int = DEMO_WALLET_RIAL
) -> bool:
    """Credit a citizen's demo balance from `demo_funding`, once ever; True if credited now."""
    async with PaymentsUnitOfWork(database) as uow:
        # Read first, without a lock: after the first time this is all that happens.
        if await uow.ledger.has_key(demo_credit_key(citizen_id)):
            return False
    transaction = demo_credit_transaction(
        TransactionId(str(uuid.uuid4())),
        citizen_id=citizen_id,
        amount_rial=Rial(amount_rial),
        at=clock.now(),
    )
    # A concurrent first use that credited it a moment ago: the ledger answers False.
    async with PaymentsUnitOfWork(database) as uow:
        posted = await uow.ledger.post(transaction)
        await uow.commit()
    return posted


async def wallet_balance(
    database: Database, clock: Clock, *, citizen_id: str, demo_wallet_rial: int = 0
) -> Rial:
    """The wallet's balance, derived from its entries (demo mode credits it first, once)."""
    if demo_wallet_rial:
        await ensure_demo_wallet(
            database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
        )
    async with PaymentsUnitOfWork(database) as uow:
        return await uow.ledger.balance(wallet_account(citizen_id))


async def wallet_statement(
    database: Database,
    clock: Clock,
    *,
    citizen_id: str,
    demo_wallet_rial: int = 0,
    limit: int = STATEMENT_LINES,
) -> WalletStatement:
    """The wallet's balance and its newest lines (demo mode credits it first, once)."""
    if demo_wallet_rial:
        await ensure_demo_wallet(
            database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
        )
    account = wallet_account(citizen_id)
    async with PaymentsUnitOfWork(database) as uow:
        lines = await uow.ledger.lines(account, limit=limit)
        # A payment and the refunds of it share its reference: each line names what it was for.
        named = await uow.orders.paid_for_by_reference({line.reference for line in lines})
        return WalletStatement(
            citizen_id=citizen_id,
            balance_rial=await uow.ledger.balance(account),
            lines=tuple(replace(line, paid_for=named.get(line.reference or "")) for line in lines),
        )
