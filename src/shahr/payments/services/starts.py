"""Starting a payment: by card through the PSP, or from the wallet at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database, UnitOfWork
from shahr.kernel.money import Rial
from shahr.payments.domain import (
    InsufficientBalanceError,
    Method,
    PaidFor,
    PaymentId,
    PaymentOrder,
    PaymentStatus,
    Purpose,
    TransactionId,
    demo_credit_transaction,
    parse_method,
    parse_purpose,
    wallet_account,
)
from shahr.payments.events import PaymentVerified
from shahr.payments.gateways import PaymentGateway
from shahr.payments.persistence import PaymentsUnitOfWork


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
    paid_for: PaidFor | None = None,
    pay_by: datetime | None = None,
) -> PaymentStart:
    """Start paying `amount_rial` for `purpose`/`reference`, in a transaction of its own.

    By card: registers the payment at the PSP and answers where to send the citizen; the
    PSP's callback finishes it. From the wallet: debits the wallet and verifies at once, or
    refuses with `InsufficientBalanceError` and writes nothing. `demo_wallet_rial` (demo
    mode only) credits the citizen's demo balance, once, if the wallet is short without it.
    """
    order = _new_order(
        clock,
        citizen_id=citizen_id,
        amount_rial=amount_rial,
        purpose=purpose,
        reference=reference,
        return_url=return_url,
        method=method,
        psp=psp.name,
        paid_for=paid_for,
        pay_by=pay_by,
    )
    if order.method is Method.wallet:
        async with PaymentsUnitOfWork(database) as uow:
            start = await _debit_wallet(uow, clock, bus, order, demo_wallet_rial)
            await uow.commit()
        return start
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


async def pay_from_wallet_within(
    outer: UnitOfWork,
    clock: Clock,
    bus: EventBus,
    *,
    citizen_id: str,
    amount_rial: int,
    purpose: str,
    reference: str,
    return_url: str,
    demo_wallet_rial: int = 0,
    paid_for: PaidFor | None = None,
) -> PaymentStart:
    """Debit the wallet inside the caller's open transaction: its commit books both or neither.

    For another area's use case that must pay and record what was paid for at once (a
    wallet booking: hold, debit and confirm together). `InsufficientBalanceError` leaves
    the transaction usable and unchanged; `PaymentVerified` is published after its commit.
    """
    order = _new_order(
        clock,
        citizen_id=citizen_id,
        amount_rial=amount_rial,
        purpose=purpose,
        reference=reference,
        return_url=return_url,
        method="wallet",
        psp=None,
        paid_for=paid_for,
    )
    return await _debit_wallet(
        PaymentsUnitOfWork.joining(outer), clock, bus, order, demo_wallet_rial
    )


def _new_order(
    clock: Clock,
    *,
    citizen_id: str,
    amount_rial: int,
    purpose: str,
    reference: str,
    return_url: str,
    method: str,
    psp: str | None,
    paid_for: PaidFor | None,
    pay_by: datetime | None = None,
) -> PaymentOrder:
    return PaymentOrder.new(
        PaymentId(str(uuid.uuid4())),
        citizen_id=citizen_id,
        purpose=parse_purpose(purpose),
        reference=reference,
        amount_rial=amount_rial,
        method=parse_method(method),
        return_url=return_url,
        psp=psp,
        now=clock.now(),
        paid_for=paid_for,
        pay_by=pay_by,
    )


async def _debit_wallet(
    uow: PaymentsUnitOfWork,
    clock: Clock,
    bus: EventBus,
    order: PaymentOrder,
    demo_wallet_rial: int,
) -> PaymentStart:
    """Verify, settle and book a wallet payment on `uow`; publish it once `uow` commits."""
    now = clock.now()
    # A wallet payment has no PSP to verify with or settle at: both happen at once.
    order.verify(at=now)
    order.settle(at=now)
    payment = order.payment_transaction(TransactionId(str(uuid.uuid4())), at=now)
    try:
        # The ledger locks the wallet and refuses an overdraft before anything is written.
        await uow.ledger.post(payment)
    except InsufficientBalanceError:
        if not demo_wallet_rial:
            raise
        # Short, in demo mode: perhaps not credited yet (registration credits it, through
        # the bus). Credited here, once ever, in the same transaction.
        await uow.ledger.post(
            demo_credit_transaction(
                TransactionId(str(uuid.uuid4())),
                citizen_id=order.citizen_id,
                amount_rial=Rial(demo_wallet_rial),
                at=now,
            )
        )
        await uow.ledger.post(payment)
    await uow.orders.add(order)
    verified = PaymentVerified.of(order)
    uow.after_commit(lambda: bus.publish(verified))
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
