"""Starting a payment: by card through the PSP, or from the wallet at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Literal

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    InsufficientBalanceError,
    Method,
    PaymentId,
    PaymentOrder,
    PaymentStatus,
    Purpose,
    TransactionId,
    parse_method,
    parse_purpose,
    wallet_account,
)
from shahr.payments.events import PaymentVerified
from shahr.payments.gateways import PaymentGateway
from shahr.payments.persistence import PaymentsUnitOfWork
from shahr.payments.services.wallet import ensure_demo_wallet


@dataclass(frozen=True)
class PaymentStart:
    """A payment begun: by card, where to send the citizen; from the wallet, already paid."""

    payment_id: PaymentId
    status: PaymentStatus
    method: Method
    amount_rial: Rial
    redirect_url: str | None


async def request_payment(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    citizen_id: str,
    amount_rial: int,
    purpose: str,
    reference: str,
    return_url: str,
    method: Literal["psp", "wallet"],
    demo_wallet_rial: int = 0,
) -> PaymentStart:
    """Start paying `amount_rial` for `purpose`/`reference`.

    By card: registers the payment at the PSP and answers where to send the citizen; the
    PSP's callback finishes it. From the wallet: debits the wallet and verifies at once, or
    refuses with `InsufficientBalanceError` and writes nothing. `demo_wallet_rial` (demo
    mode only) credits the citizen's demo balance, once, if the wallet is short without it.
    """
    chosen = parse_method(method)
    order = PaymentOrder.new(
        PaymentId(str(uuid.uuid4())),
        citizen_id=citizen_id,
        purpose=parse_purpose(purpose),
        reference=reference,
        amount_rial=amount_rial,
        method=chosen,
        return_url=return_url,
        psp=psp.name,
        now=clock.now(),
    )
    if chosen is Method.wallet:
        try:
            return await _pay_from_wallet(database, clock, bus, replace(order))
        except InsufficientBalanceError:
            if not demo_wallet_rial:
                raise
        # Short, in demo mode: perhaps not credited yet (registration credits it, through
        # the bus). Looked up only now, as it is a transaction more on every payment.
        await ensure_demo_wallet(
            database, clock, citizen_id=citizen_id, amount_rial=demo_wallet_rial
        )
        return await _pay_from_wallet(database, clock, bus, order)
    # The token first, outside any transaction: if the PSP is down nothing is written.
    token = await psp.request_token(order)
    order.redirect(token.token, at=clock.now())
    async with PaymentsUnitOfWork(database) as uow:
        await uow.orders.add(order)
        await uow.commit()
    return PaymentStart(
        payment_id=order.id,
        status=order.status,
        method=order.method,
        amount_rial=order.amount_rial,
        redirect_url=token.redirect_url,
    )


async def _pay_from_wallet(
    database: Database, clock: Clock, bus: EventBus, order: PaymentOrder
) -> PaymentStart:
    now = clock.now()
    # A wallet payment has no PSP to verify with or settle at: both happen at once.
    order.verify(at=now)
    order.settle(at=now)
    async with PaymentsUnitOfWork(database) as uow:
        # The ledger locks the wallet and refuses an overdraft before anything is written.
        await uow.ledger.post(order.payment_transaction(TransactionId(str(uuid.uuid4())), at=now))
        await uow.orders.add(order)
        await uow.commit()
    await bus.publish(PaymentVerified.of(order))
    return PaymentStart(
        payment_id=order.id,
        status=order.status,
        method=order.method,
        amount_rial=order.amount_rial,
        redirect_url=None,
    )


async def top_up_wallet(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    citizen_id: str,
    amount_rial: int,
    return_url: str = "/wallet",
) -> PaymentStart:
    """Start a card payment that credits the citizen's wallet once verified."""
    return await request_payment(
        database,
        clock,
        psp,
        bus,
        citizen_id=citizen_id,
        amount_rial=amount_rial,
        purpose=Purpose.top_up.value,
        reference=wallet_account(citizen_id),
        return_url=return_url,
        method="psp",
    )
