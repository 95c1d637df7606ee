"""Reconciliation: close what the PSP left open and check the books."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from enum import Enum
from typing import Any

from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.payments.domain import (
    AWAITING_CALLBACK,
    PaymentOrder,
    PaymentStateError,
    PaymentStatus,
    PspRefusedError,
    PspUnavailableError,
    ReconciliationReport,
    payment_not_found,
)
from shahr.payments.events import PaymentFailed, PaymentReversed
from shahr.payments.gateways import PaymentGateway
from shahr.payments.persistence import PaymentsUnitOfWork
from shahr.payments.services.callbacks import _settle, verify_payment

log = logging.getLogger(__name__)


async def reconcile(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus
) -> ReconciliationReport:
    """Close what the PSP left open and check the books; the report says what was found.

    Payments past their window are reversed at the PSP (or expire, if nothing was taken);
    payments whose verification timed out are verified again while there is time; verified
    payments not yet settled are settled. Then: the books must sum to zero, every paid
    payment must have its ledger transaction and every booked payment its paid order, and
    the wallets' kept balances must equal the sums of their entries.
    """
    now = clock.now()
    report = ReconciliationReport(ran_at=now)
    async with PaymentsUnitOfWork(database) as uow:
        orders = await uow.orders.to_reconcile(psp.name)
    for order in orders:
        try:
            await _reconcile_one(database, clock, psp, bus, order, report)
        except (PspUnavailableError, PspRefusedError) as error:
            report.psp_errors.append(f"{order.id}: {type(error).__name__}")
    async with PaymentsUnitOfWork(database) as uow:
        report.books_total_rial = await uow.ledger.books_total()
        report.unbalanced_transactions = await uow.ledger.unbalanced_transactions()
        report.balance_mismatches = await uow.ledger.cached_balance_mismatches()
        report.paid_without_transaction = await uow.orders.paid_without_transaction()
        report.transactions_without_paid_payment = (
            await uow.ledger.transactions_without_paid_payment()
        )
        report.flagged_callbacks = await uow.callbacks.flagged_count(
            since=await uow.runs.latest_ran_at()
        )
        await uow.runs.add(ran_at=now, clean=report.clean, report=report_as_dict(report))
        await uow.commit()
    if not report.clean:
        log.error(
            "payments: reconciliation found problems", extra={"report": report_as_dict(report)}
        )
    return report


async def _reconcile_one(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    order: PaymentOrder,
    report: ReconciliationReport,
) -> None:
    now = clock.now()
    if order.status is PaymentStatus.verified:
        settled = await _settle(database, clock, psp, order)
        if settled.status is PaymentStatus.settled:
            report.settled.append(order.id)
        return
    if order.status is PaymentStatus.callback_received and not order.overdue(now):
        verified = await verify_payment(database, clock, psp, bus, payment_id=order.id)
        if verified.is_paid:
            report.verified.append(order.id)
        return
    if not order.overdue(now):
        return
    closed = await give_up_on(database, clock, psp, bus, order)
    if closed is PaymentStatus.expired:
        report.expired.append(order.id)
    elif closed is PaymentStatus.reversed:
        report.reversed.append(order.id)


async def give_up_on(
    database: Database, clock: Clock, psp: PaymentGateway, bus: EventBus, order: PaymentOrder
) -> PaymentStatus | None:
    """Stop waiting for the bank on an unfinished payment: the PSP gives back what it took.

    The order expires if the bank had taken nothing, or is reversed (the money goes back to
    the card); answers which, or None if a callback or a verification moved it meanwhile.
    A callback that comes afterwards is refused as late.
    """
    now = clock.now()
    money_taken = await psp.reverse(order.token) if order.token else False
    events: list[object] = []
    async with PaymentsUnitOfWork(database) as uow:
        locked = await uow.orders.lock(order.id)
        assert locked is not None  # noqa: S101  # orders are never deleted
        if locked.status is not order.status:
            return None
        if locked.status in AWAITING_CALLBACK and not money_taken:
            locked.expire(at=now)
            events.append(PaymentFailed.of(locked, at=now))
        else:
            reason = "no_callback" if locked.status in AWAITING_CALLBACK else "not_verified_in_time"
            locked.reverse(reason, at=now)
            events.append(PaymentReversed.of(locked, at=now))
        await uow.orders.save(locked)
        await uow.commit()
    for event in events:
        await bus.publish(event)
    return locked.status


async def abandon_payment(
    database: Database,
    clock: Clock,
    psp: PaymentGateway,
    bus: EventBus,
    *,
    payment_id: str,
    citizen_id: str,
) -> PaymentStatus | None:
    """The payer did not finish at the bank's page: give the payment up now, as
    reconciliation would at its deadline, so that it can be paid another way.

    Only a payment the bank has said nothing of; once its callback has come, the bank has
    answered and reconciliation decides it.
    """
    async with PaymentsUnitOfWork(database) as uow:
        order = await uow.orders.get(payment_id)
    if order is None or order.citizen_id != citizen_id:
        raise payment_not_found()
    if order.status not in AWAITING_CALLBACK:
        raise PaymentStateError(
            "The bank has already answered for this payment, so it cannot be let go; wait"
            " for it to be decided."
        )
    return await give_up_on(database, clock, psp, bus, order)


def report_as_dict(report: ReconciliationReport) -> dict[str, Any]:
    """The report as JSON-ready values, for the run log and the API."""

    def plain(value: object) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value

    fields = {f.name: plain(getattr(report, f.name)) for f in dataclasses.fields(report)}
    return {**fields, "books_balanced": report.books_balanced, "clean": report.clean}
