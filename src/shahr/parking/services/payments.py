"""Money in and out: a paid reservation or extension is confirmed, anything else refunded.

There is one confirmation route per payment method (docs/decisions/0017):
- **wallet**: the use case that books also pays, through the payments port, inside its own
  transaction (`pay_now`): hold, debit and confirmation commit together or not at all;
- **card**: the bank's callback verifies the payment in payments, whose `PaymentVerified`
  reaches `take_verified_payment` here, idempotent by payment id.
Either way each payment parking takes is recorded once in `parking_reservation_payment`
with what became of it: it confirms exactly what it paid for, or it is owed back (a refund
row written in the same transaction, issued through the port after the commit and retried
by the upkeep job until payments has taken it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from shahr.parking.domain import BayId, BayTakenError, MeterId, Reservation, ReservationStatus
from shahr.parking.events import ReservationConfirmed, ReservationExtended
from shahr.parking.gateways import (
    EXTENSION_PURPOSE,
    RESERVATION_PURPOSE,
    PaidFor,
    StartedPayment,
    VerifiedPayment,
)
from shahr.parking.persistence import PaymentRecord, ReservationUnitOfWork
from shahr.parking.queries import InventorySnapshot
from shahr.parking.services.events import confirmed_event, extended_event_of
from shahr.parking.services.ports import ParkingPorts, writing

log = logging.getLogger(__name__)

PARKING_PURPOSES = frozenset({RESERVATION_PURPOSE, EXTENSION_PURPOSE})
WALLET = "wallet"


async def paid_for(ports: ParkingPorts, reservation: Reservation) -> PaidFor | None:
    """The bay and street a reservation's payment buys, for the citizen's wallet line."""
    found = (await ports.inventory.current()).bays.get(BayId(reservation.bay_id))
    if found is None:
        return None
    meter, bay = found
    return PaidFor(street_fa=meter.street_fa, street_en=meter.street_en, bay_number=bay.number)


def unused_payment_reason(payment_id: str) -> str:
    return f"unused payment {payment_id}"


@dataclass(frozen=True)
class Outcome:
    """What a payment did to its reservation, and the event that says so (after the commit)."""

    name: str
    reservation: Reservation | None
    event: ReservationConfirmed | ReservationExtended | None = None


async def take_verified_payment(ports: ParkingPorts, payment: VerifiedPayment) -> str:
    """Confirm what a card payment paid for, or owe it back; idempotent by payment id.

    Answers the outcome: `confirmed`, `extended`, `refunded`, `duplicate` (seen before),
    `unknown` (no such reservation) or `ignored` (not a parking payment, or a wallet
    payment, which the use case that made it took in its own transaction). A payment that
    comes after its hold ran out still confirms the reservation if the bay is free for the
    window; otherwise, like a payment with the wrong amount, for someone else's
    reservation, for one already paid or cancelled, it is refunded in full.
    """
    if payment.purpose not in PARKING_PURPOSES or payment.method == WALLET:
        return "ignored"
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    async with writing(ports) as uow:
        reservation = await uow.reservations.get(payment.reference, lock=True)
        # Asked under the reservation's lock: two deliveries of one payment may run at once.
        if await uow.records.payment_handled(payment.payment_id):
            return "duplicate"
        outcome = await _apply_payment(uow, snapshot, reservation, payment, now=now)
        await uow.commit()
    if outcome.event is not None:
        await ports.bus.publish(outcome.event)
    if outcome.name == "refunded":
        await issue_refunds(ports, reservation_id=payment.reference)
    return outcome.name


@dataclass(frozen=True)
class PaymentTaken:
    """A wallet payment taken with the change it paid for, and the reservation after it."""

    outcome: str
    reservation: Reservation
    payment: VerifiedPayment
    started: StartedPayment


async def pay_now(
    ports: ParkingPorts,
    uow: ReservationUnitOfWork,
    reservation: Reservation,
    *,
    purpose: str,
    amount_rial: int,
    outcome: str,
    return_url: str | None,
) -> PaymentTaken:
    """Pay from the wallet inside `uow` for a change already written there; the caller commits.

    The reservation is confirmed (or extended) in the same transaction as the debit and the
    record of the payment: one commit books all three, and a wallet too short raises, so
    the caller's transaction writes nothing.
    """
    started = await ports.payments.pay_from_wallet(
        uow,
        citizen_id=reservation.citizen_id,
        amount_rial=amount_rial,
        purpose=purpose,
        reference=reservation.id,
        return_url=return_url or f"/parking/reservations/{reservation.id}",
        paid_for=await paid_for(ports, reservation),
    )
    payment = VerifiedPayment(
        payment_id=started.payment_id,
        citizen_id=reservation.citizen_id,
        purpose=purpose,
        reference=reservation.id,
        amount_rial=started.amount_rial,
        verified_at=ports.clock.now(),
        method=WALLET,
    )
    await _record(uow, payment, outcome, now=payment.verified_at)
    return PaymentTaken(outcome, reservation, payment, started)


async def _apply_payment(
    uow: ReservationUnitOfWork,
    snapshot: InventorySnapshot,
    reservation: Reservation | None,
    payment: VerifiedPayment,
    *,
    now: datetime,
) -> Outcome:
    """Confirm what the payment pays for, or owe it back; record the payment either way."""
    outcome = Outcome("refunded", reservation)
    if reservation is None:
        # Parking asks for money only for reservations it has written, so this is no
        # payment of ours: recorded (once) and left to payments' reconciliation.
        outcome = Outcome("unknown", None)
        log.warning("parking: payment %s names no reservation", payment.payment_id)
    elif reservation.citizen_id == payment.citizen_id:
        outcome = await _confirm_paid(uow, snapshot, reservation, payment, now=now) or outcome
    if outcome.name == "refunded":
        await uow.records.owe_refund(
            reservation_id=payment.reference,
            reason=unused_payment_reason(payment.payment_id),
            citizen_id=payment.citizen_id,
            amount_rial=payment.amount_rial,
            now=now,
        )
        log.warning(
            "parking: payment %s (%s) confirms nothing; refunding it",
            payment.payment_id,
            payment.purpose,
        )
    await _record(uow, payment, outcome.name, now=now)
    return outcome


async def _record(
    uow: ReservationUnitOfWork, payment: VerifiedPayment, outcome: str, *, now: datetime
) -> None:
    """Parking has taken this payment (once: its id is the record's key)."""
    await uow.records.record_payment(
        PaymentRecord(
            payment_id=payment.payment_id,
            reservation_id=payment.reference,
            purpose=payment.purpose,
            amount_rial=payment.amount_rial,
            outcome=outcome,
            verified_at=payment.verified_at,
        ),
        now=now,
    )


async def _confirm_paid(
    uow: ReservationUnitOfWork,
    snapshot: InventorySnapshot,
    reservation: Reservation,
    payment: VerifiedPayment,
    *,
    now: datetime,
) -> Outcome | None:
    """The reservation or extension this payment pays for, confirmed; None if it pays for none."""
    meter = snapshot.meters.get(MeterId(reservation.meter_id))
    found = snapshot.bays.get(BayId(reservation.bay_id))
    if meter is None or found is None:
        return None
    bay = found[1]
    if payment.purpose == RESERVATION_PURPOSE and _pays_reservation(reservation, payment):
        confirmed = await _confirm(uow, reservation, now=now)
        if confirmed is None:
            return None
        return Outcome("confirmed", confirmed, confirmed_event(confirmed, meter, bay))
    if payment.purpose == EXTENSION_PURPOSE and _pays_extension(reservation, payment):
        reservation.confirm_extension()
        await uow.reservations.save(reservation)
        return Outcome("extended", reservation, extended_event_of(reservation, meter, bay))
    return None


def _pays_reservation(reservation: Reservation, payment: VerifiedPayment) -> bool:
    return (
        reservation.status in (ReservationStatus.pending, ReservationStatus.lapsed)
        and payment.amount_rial == reservation.amount_rial
        and reservation.paid_rial == 0
    )


def _pays_extension(reservation: Reservation, payment: VerifiedPayment) -> bool:
    return (
        reservation.status is ReservationStatus.confirmed
        and reservation.extension_pending
        and payment.amount_rial == reservation.extension_rial
    )


async def _confirm(
    uow: ReservationUnitOfWork, reservation: Reservation, *, now: datetime
) -> Reservation | None:
    """Confirm a pending hold; a lapsed one only if the bay is still free for its window.

    A pending row still holds its bay even past its hold time, until a booking of the same
    bay or the upkeep job lets it go; a lapsed one must be held again.
    """
    attempt = replace(reservation)
    attempt.confirm(at=now)
    if reservation.status is ReservationStatus.pending:
        await uow.reservations.save(attempt)
        return attempt
    try:
        await uow.reservations.rehold(attempt, now)
    except BayTakenError:
        return None
    return attempt


async def issue_refunds(ports: ParkingPorts, *, reservation_id: str | None = None) -> int:
    """Hand every refund parking owes to payments; one that fails waits for the next run."""
    async with ReservationUnitOfWork(ports.database) as uow:
        due = await uow.records.due_refunds(reservation_id=reservation_id)
    issued = 0
    for refund in due:
        try:
            await ports.payments.refund(
                reference=refund.reservation_id,
                amount_rial=refund.amount_rial,
                reason=refund.reason,
            )
        except Exception:  # the port's failure is logged; the upkeep job tries again
            log.exception(
                "parking: refund %s of %s Rial for %s failed; will retry",
                refund.reason,
                refund.amount_rial,
                refund.reservation_id,
            )
            continue
        async with writing(ports) as uow:
            await uow.records.mark_refund_issued(
                refund.reservation_id, refund.reason, ports.clock.now()
            )
            await uow.commit()
        issued += 1
    return issued
