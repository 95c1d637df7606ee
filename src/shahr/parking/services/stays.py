"""Managing a stay: extend it, end it early, cancel it before it starts, change its plate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shahr.parking.domain import (
    MINUTE,
    BayId,
    BayTakenError,
    ExtensionBlockedError,
    InvalidWindowError,
    PlateChangeError,
    Reservation,
    ReservationStateError,
    ReservationStatus,
    TimeWindow,
    check_bay_fits,
    check_open,
    check_stay_length,
    check_whole_minutes,
    end_early_refund,
    not_found,
    permit_covers,
)
from shahr.parking.events import ReservationPlateChanged
from shahr.parking.gateways import EXTENSION_PURPOSE, StartedPayment
from shahr.parking.persistence import ReservationUnitOfWork
from shahr.parking.queries import InventorySnapshot
from shahr.parking.services.booking import start_card_payment
from shahr.parking.services.events import ended_event, extended_event
from shahr.parking.services.payment_states import refuse_while_in_doubt
from shahr.parking.services.payments import WALLET, issue_refunds, pay_now
from shahr.parking.services.ports import ParkingPorts, writing
from shahr.parking.services.quotes import read_plate, registered_vehicle

CANCELLED_REASON = "cancelled"
ENDED_EARLY_REASON = "ended_early"


@dataclass(frozen=True)
class StayChange:
    """A reservation after a change, and the payment begun for it, if any."""

    reservation: Reservation
    payment: StartedPayment | None = None
    refund_rial: int = 0


async def _own(uow: ReservationUnitOfWork, reservation_id: str, citizen_id: str) -> Reservation:
    reservation = await uow.reservations.get(reservation_id, lock=True)
    if reservation is None or reservation.citizen_id != citizen_id:
        raise not_found()
    return reservation


async def extend_reservation(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    reservation_id: str,
    ends_at: datetime,
    method: str = "psp",
    return_url: str | None = None,
) -> StayChange:
    """Move a paid stay's end later, paying only the difference.

    Never past the zone's maximum stay or closing time, and never into someone else's
    booking of the bay (`ExtensionBlockedError` says how far it can go). From the wallet the
    extension is held, paid and confirmed in one transaction; by card the extra time is
    held like a new reservation until its payment is verified.
    """
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    taken = None
    try:
        async with writing(ports) as uow:
            reservation = await _own(uow, reservation_id, citizen_id)
            extra = _extend(ports, snapshot, reservation, ends_at, now=now)
            by_wallet = extra > 0 and method == WALLET
            if by_wallet:
                reservation.confirm_extension()  # paid below, in this same transaction
            await uow.reservations.rehold(reservation, now)
            if by_wallet:
                taken = await pay_now(
                    ports,
                    uow,
                    reservation,
                    purpose=EXTENSION_PURPOSE,
                    amount_rial=extra,
                    outcome="extended",
                    return_url=return_url,
                )
            await uow.commit()
    except BayTakenError:
        raise await _blocked(ports, reservation_id, citizen_id) from None
    if not reservation.extension_pending:
        await ports.bus.publish(extended_event(snapshot, reservation))
        return StayChange(reservation, taken.started if taken is not None else None)
    payment = await start_card_payment(
        ports,
        reservation,
        amount_rial=extra,
        purpose=EXTENSION_PURPOSE,
        return_url=return_url,
        on_failure=_drop_extension,
    )
    return StayChange(reservation, payment)


def _extend(
    ports: ParkingPorts,
    snapshot: InventorySnapshot,
    reservation: Reservation,
    ends_at: datetime,
    *,
    now: datetime,
) -> int:
    """Move the stay's end within the rules (waiting for payment if it costs more); the extra."""
    if reservation.status is not ReservationStatus.confirmed:
        raise ReservationStateError("Only a paid reservation can be extended.")
    if reservation.extension_pending and (
        reservation.hold_expires_at is None or now >= reservation.hold_expires_at
    ):
        reservation.drop_extension()
    if now >= reservation.paid_ends_at:
        raise ReservationStateError("This stay has already ended.")
    if ends_at <= reservation.paid_ends_at:
        raise InvalidWindowError("The new end must be later than the current one.", field="ends_at")
    window = TimeWindow(reservation.starts_at, ends_at)
    check_whole_minutes(window)
    zone = snapshot.zone_of(snapshot.meter(reservation.meter_id))
    check_open(window, zone.rules, ports.rules.holidays)
    check_stay_length(window.duration_min, zone.rules)
    tariff = ports.rules.tariffs.version(reservation.tariff_version)
    price = tariff.price(window.duration_min, reservation.vehicle_kind, reservation.street_class)
    extra = price.total_rial - reservation.amount_rial
    if extra == 0:
        reservation.extend_now(ends_at, amount_rial=0)
    else:
        reservation.begin_extension(
            ends_at, amount_rial=extra, hold_until=now + ports.rules.policy.payment_hold
        )
    return extra


async def _blocked(
    ports: ParkingPorts, reservation_id: str, citizen_id: str
) -> ExtensionBlockedError:
    """How far the stay could be extended before someone else's booking starts."""
    async with ReservationUnitOfWork(ports.database) as uow:
        reservation = await _own(uow, reservation_id, citizen_id)
        following = await uow.reservations.next_hold_after(
            reservation.bay_id, reservation.paid_ends_at, exclude=reservation.id
        )
    free_min = 0
    if following is not None:
        free_min = max(0, (following.starts_at - reservation.paid_ends_at) // MINUTE)
    if free_min == 0:
        return ExtensionBlockedError(
            "Someone else has booked this bay right after your stay, so it cannot be extended.",
            field="ends_at",
        )
    return ExtensionBlockedError(
        "Someone else has booked this bay after your stay; you can extend it by at most"
        " {minutes} minutes.",
        field="ends_at",
        minutes=free_min,
    )


async def _drop_extension(ports: ParkingPorts, reservation: Reservation) -> None:
    """The extension's payment never started: the stay ends when it did before."""
    async with writing(ports) as uow:
        current = await uow.reservations.get(reservation.id, lock=True)
        if current is not None and current.extension_pending:
            current.drop_extension()
            await uow.reservations.save(current)
            await uow.commit()


async def end_reservation(
    ports: ParkingPorts, *, citizen_id: str, reservation_id: str
) -> StayChange:
    """End a running stay now; the unused whole half-hours come back (per the policy)."""
    now = ports.clock.now()
    async with writing(ports) as uow:
        reservation = await _own(uow, reservation_id, citizen_id)
        if reservation.status is not ReservationStatus.confirmed:
            raise ReservationStateError("Only a paid stay can be ended.")
        tariff = ports.rules.tariffs.version(reservation.tariff_version)
        refund = end_early_refund(reservation, tariff, ports.rules.policy, at=now)
        reservation.end_early(at=now, refund_rial=refund)
        await uow.reservations.save(reservation)
        await uow.records.owe_refund(
            reservation_id=reservation.id,
            reason=ENDED_EARLY_REASON,
            citizen_id=reservation.citizen_id,
            amount_rial=refund,
            now=now,
        )
        await uow.commit()
    snapshot = await ports.inventory.current()
    await ports.bus.publish(ended_event(snapshot, reservation, reason=ENDED_EARLY_REASON, at=now))
    await issue_refunds(ports, reservation_id=reservation.id)
    return StayChange(reservation, refund_rial=refund)


async def cancel_reservation(
    ports: ParkingPorts, *, citizen_id: str, reservation_id: str
) -> StayChange:
    """Cancel before the start: a paid reservation is refunded in full.

    Refused while a payment for it awaits the bank's answer.
    """
    await refuse_while_in_doubt(ports, reservation_id=reservation_id, doing="cancel")
    now = ports.clock.now()
    async with writing(ports) as uow:
        reservation = await _own(uow, reservation_id, citizen_id)
        was_paid = reservation.status is ReservationStatus.confirmed
        refund = reservation.cancel(at=now)
        reservation.refunded_rial += refund
        await uow.reservations.save(reservation)
        await uow.records.owe_refund(
            reservation_id=reservation.id,
            reason=CANCELLED_REASON,
            citizen_id=reservation.citizen_id,
            amount_rial=refund,
            now=now,
        )
        await uow.commit()
    if was_paid:
        snapshot = await ports.inventory.current()
        await ports.bus.publish(ended_event(snapshot, reservation, reason=CANCELLED_REASON, at=now))
        await issue_refunds(ports, reservation_id=reservation.id)
    return StayChange(reservation, refund_rial=refund)


async def change_plate(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    reservation_id: str,
    plate: str,
    vehicle_kind: str | None = None,
) -> StayChange:
    """Put another of the citizen's vehicles on the reservation before it starts.

    The new vehicle must fit the bay and pay the same fee; otherwise cancel and book again.
    """
    now = ports.clock.now()
    parsed = read_plate(plate)
    kind, vehicle = await registered_vehicle(
        ports, citizen_id=citizen_id, plate=parsed, asked=vehicle_kind
    )
    snapshot = await ports.inventory.current()
    async with writing(ports) as uow:
        reservation = await _own(uow, reservation_id, citizen_id)
        if parsed.canonical == reservation.plate:
            return StayChange(reservation)
        _meter, bay = snapshot.bays[BayId(reservation.bay_id)]
        permit = permit_covers(vehicle.permit_expires_on, reservation.window.ends_at)
        check_bay_fits(bay.kind, kind, disability_permit=permit)
        tariff = ports.rules.tariffs.version(reservation.tariff_version)
        fee = tariff.price(reservation.window.duration_min, kind, reservation.street_class)
        if fee.total_rial != reservation.amount_rial:
            raise PlateChangeError(
                "The new vehicle pays a different fee here. Cancel and book again.",
                field="plate",
            )
        reservation.change_plate(parsed.canonical, kind, at=now)
        await uow.reservations.save(reservation)
        await uow.commit()
    await ports.bus.publish(
        ReservationPlateChanged(
            reservation_id=reservation.id,
            bay_id=reservation.bay_id,
            meter_id=reservation.meter_id,
            plate=reservation.plate,
            changed_at=now,
        )
    )
    return StayChange(reservation)
