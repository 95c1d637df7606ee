"""Money in and out: a verified payment confirms a reservation or an extension, or is refunded.

Every verified payment parking hears of ends one of two ways, recorded once per payment in
`parking_reservation_payment`: it confirms exactly what it paid for, or it is owed back
(a refund row written in the same transaction, issued through the payments port after
the commit and retried by the upkeep job until payments has taken it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from shahr.parking.domain import Bay, BayId, Meter, MeterId, Reservation, ReservationStatus
from shahr.parking.events import ReservationConfirmed, ReservationExtended
from shahr.parking.gateways import (
    EXTENSION_PURPOSE,
    RESERVATION_PURPOSE,
    StartedPayment,
    VerifiedPayment,
)
from shahr.parking.persistence import ReservationUnitOfWork, is_overlap_violation
from shahr.parking.services.ports import ParkingPorts

log = logging.getLogger(__name__)

PARKING_PURPOSES = frozenset({RESERVATION_PURPOSE, EXTENSION_PURPOSE})
# A payment the port answers in one of these states was verified before it answered.
PAID_AT_ONCE = frozenset({"verified", "settled"})


def unused_payment_reason(payment_id: str) -> str:
    return f"unused payment {payment_id}"


async def take_verified_payment(ports: ParkingPorts, payment: VerifiedPayment) -> str:
    """Confirm what the payment paid for, or owe it back; idempotent by payment id.

    Answers the outcome: `confirmed`, `extended`, `refunded`, `duplicate` (seen before),
    `unknown` (no such reservation) or `ignored` (not a parking payment). A payment that
    comes after its hold ran out still confirms the reservation if the bay is free for the
    window; otherwise, like a payment with the wrong amount, for someone else's
    reservation, for one already paid or cancelled, it is refunded in full.
    """
    # A wallet payment this process took at once (the usual case for this delivery).
    if payment.purpose in PARKING_PURPOSES and await ports.handled_here.was_handled(
        payment.payment_id
    ):
        return "duplicate"
    return (await _take(ports, payment)).outcome


@dataclass(frozen=True)
class PaymentTaken:
    """What became of a verified payment, and its reservation as it stands after it."""

    outcome: str
    reservation: Reservation | None = None
    payment: VerifiedPayment | None = None


async def _take(ports: ParkingPorts, payment: VerifiedPayment) -> PaymentTaken:
    if payment.purpose not in PARKING_PURPOSES:
        return PaymentTaken("ignored")
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    event: ReservationConfirmed | ReservationExtended | None = None
    async with ReservationUnitOfWork(ports.database, write=True) as uow:
        reservation = await uow.reservations.get(payment.reference, lock=True)
        # Asked under the reservation's lock: the flow that paid from the wallet and the bus
        # may take the same payment at once, and the second must find it handled.
        if await uow.reservations.payment_handled(payment.payment_id):
            ports.handled_here.handled(payment.payment_id)
            return PaymentTaken("duplicate", reservation)
        outcome = "refunded"
        changed = reservation
        if reservation is None:
            # Parking asks for money only for reservations it has written, so this is no
            # payment of ours: recorded (once) and left to payments' reconciliation.
            outcome = "unknown"
            log.warning(
                "parking: payment %s names reservation %s, which does not exist",
                payment.payment_id,
                payment.reference,
            )
        elif reservation.citizen_id == payment.citizen_id:
            meter = snapshot.meters.get(MeterId(reservation.meter_id))
            bay = snapshot.bays.get(BayId(reservation.bay_id))
            if payment.purpose == RESERVATION_PURPOSE and _pays_reservation(reservation, payment):
                confirmed = await _confirm(uow, reservation, now=now)
                if confirmed is not None and meter is not None and bay is not None:
                    outcome, changed = "confirmed", confirmed
                    event = confirmed_event(confirmed, meter, bay[1])
            elif payment.purpose == EXTENSION_PURPOSE and _pays_extension(reservation, payment):
                reservation.confirm_extension()
                await uow.reservations.save(reservation)
                if meter is not None and bay is not None:
                    outcome, changed = "extended", reservation
                    event = ReservationExtended(
                        reservation_id=reservation.id,
                        meter_id=meter.id,
                        meter_device_id=meter.device_id,
                        bay_number=bay[1].number,
                        ends_at=reservation.paid_ends_at,
                    )
        if outcome == "refunded":
            await uow.reservations.owe_refund(
                reservation_id=payment.reference,
                reason=unused_payment_reason(payment.payment_id),
                citizen_id=payment.citizen_id,
                amount_rial=payment.amount_rial,
                now=now,
            )
            log.warning(
                "parking: payment %s for %s (%s) confirms nothing; refunding it",
                payment.payment_id,
                payment.reference,
                payment.purpose,
            )
        await uow.reservations.record_payment(
            payment_id=payment.payment_id,
            reservation_id=payment.reference,
            purpose=payment.purpose,
            amount_rial=payment.amount_rial,
            outcome=outcome,
            verified_at=payment.verified_at,
            now=now,
        )
        await uow.commit()
    ports.handled_here.handled(payment.payment_id)
    if event is not None:
        await ports.bus.publish(event)
    if outcome == "refunded":
        await issue_refunds(ports, reservation_id=payment.reference)
    return PaymentTaken(outcome, changed, payment)


async def take_paid_at_once(
    ports: ParkingPorts, started: StartedPayment, *, citizen_id: str, purpose: str, reference: str
) -> PaymentTaken | None:
    """Take a payment the port verified before answering (the wallet) now, not off the bus.

    Payments still publishes `PaymentVerified`, and the bus still hands it to
    `take_verified_payment`: whichever comes second finds the payment handled. So if taking
    it here fails, the bus delivery takes it. None if the payment is not verified yet (a
    card payment: the PSP's callback verifies it) or could not be taken here.
    """
    if started.status not in PAID_AT_ONCE:
        return None
    payment = VerifiedPayment(
        payment_id=started.payment_id,
        citizen_id=citizen_id,
        purpose=purpose,
        reference=reference,
        amount_rial=started.amount_rial,
        # When parking heard of it: the port's answer does not say when payments verified it.
        verified_at=ports.clock.now(),
    )
    # Noted before the first pause: this process's own delivery of the event waits for us.
    ports.handled_here.expect(payment.payment_id)
    try:
        return await _take(ports, payment)
    except Exception:  # the money moved and the event is on the bus, which retries it
        log.exception(
            "parking: could not take wallet payment %s for %s at once; the bus will",
            started.payment_id,
            reference,
        )
        return None
    finally:
        ports.handled_here.gave_up(payment.payment_id)  # a no-op once handled


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
    bay or the upkeep job lets it go; a lapsed one must be held again, which the exclusion
    constraint (or SQLite's check under its write lock) allows only if nobody took the bay.
    """
    attempt = replace(reservation)
    attempt.confirm(at=now)
    if reservation.status is ReservationStatus.pending:
        await uow.reservations.save(attempt)
        return attempt
    if uow.is_sqlite:
        await uow.reservations.release_lapsed(reservation.bay_id, now)
        if await uow.reservations.overlapping(
            reservation.bay_id, reservation.window, exclude=reservation.id
        ):
            return None
        await uow.reservations.save(attempt)
        return attempt
    try:
        async with uow.savepoint():
            await uow.reservations.save(attempt)
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
        return None
    return attempt


async def issue_refunds(ports: ParkingPorts, *, reservation_id: str | None = None) -> int:
    """Hand every refund parking owes to payments; one that fails waits for the next run."""
    async with ReservationUnitOfWork(ports.database) as uow:
        due = await uow.reservations.due_refunds(reservation_id=reservation_id)
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
        async with ReservationUnitOfWork(ports.database, write=True) as uow:
            await uow.reservations.mark_refund_issued(
                refund.reservation_id, refund.reason, ports.clock.now()
            )
            await uow.commit()
        issued += 1
    return issued


def confirmed_event(reservation: Reservation, meter: Meter, bay: Bay) -> ReservationConfirmed:
    return ReservationConfirmed(
        reservation_id=reservation.id,
        bay_id=bay.id,
        meter_id=meter.id,
        meter_device_id=meter.device_id,
        bay_number=bay.number,
        plate=reservation.plate,
        starts_at=reservation.starts_at,
        ends_at=reservation.paid_ends_at,
    )
