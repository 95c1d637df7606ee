"""Reserve a quoted bay and pay for it.

Paid from the wallet, a reservation is held, paid for and confirmed in one transaction; by
card it is held pending for the payment window until the bank's verified payment confirms
it (`payments.take_verified_payment`). The hold is the one write that must never overlap
another: the repository's `hold` refuses it with `BayTakenError` (decision 0011).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from shahr.kernel.errors import DomainError
from shahr.parking.domain import (
    BayId,
    BayKind,
    BayTakenError,
    InvalidWindowError,
    QuoteClaims,
    Reservation,
    ReservationId,
    ReservationStateError,
    ReservationStatus,
    bay_taken,
    check_bay_fits,
    check_quote_usable,
    not_found,
)
from shahr.parking.gateways import EXTENSION_PURPOSE, RESERVATION_PURPOSE, StartedPayment
from shahr.parking.persistence import ReservationUnitOfWork
from shahr.parking.queries import InventorySnapshot, window_price
from shahr.parking.services.events import confirmed_event, extended_event_of
from shahr.parking.services.payment_states import refuse_while_in_doubt
from shahr.parking.services.payments import WALLET, PaymentTaken, paid_for, pay_now
from shahr.parking.services.ports import ParkingPorts, writing
from shahr.parking.services.quotes import (
    PriceChangedError,
    alternatives,
    holds_permit,
)


@dataclass(frozen=True)
class ReservationStart:
    """A reservation held (or found again for the same quote) and the payment begun for it.

    Paid from the wallet, the reservation comes back confirmed and `taken` is the payment.
    """

    reservation: Reservation
    payment: StartedPayment | None
    created: bool
    taken: PaymentTaken | None = None


async def reserve(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    quote_token: str,
    amount_rial: int | None = None,
    method: str = "psp",
    return_url: str | None = None,
) -> ReservationStart:
    """Hold the quoted bay and pay for it: from the wallet at once, or start a card payment.

    From the wallet, the hold, the debit and the confirmation are one transaction. By card,
    the reservation is held pending until the bank's verified payment confirms it. The same
    quote twice gives the same reservation back (`created` False). A bay held by someone
    else for part of the window raises `BayTakenError` with free alternatives. If the
    payment cannot start, nothing is booked.
    """
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    claims = _usable_claims(ports, quote_token, citizen_id, amount_rial, now)
    permit = await _permit_if_needed(ports, snapshot, claims)
    reservation = _reservation_of(ports, snapshot, claims, now, disability_permit=permit)
    by_wallet = method == WALLET and reservation.amount_rial > 0
    if by_wallet or reservation.amount_rial == 0:
        # Confirmed as written: a debit below commits with it, or neither does.
        reservation.confirm(at=now)
    taken = None
    try:
        async with writing(ports) as uow:
            held = await uow.reservations.hold(reservation, now)
            if held is not reservation:
                return ReservationStart(_same_citizen(held, citizen_id), None, created=False)
            if by_wallet:
                taken = await pay_now(
                    ports,
                    uow,
                    reservation,
                    purpose=RESERVATION_PURPOSE,
                    amount_rial=reservation.amount_rial,
                    outcome="confirmed",
                    return_url=return_url,
                )
            await uow.commit()
    except BayTakenError:
        raise bay_taken(await alternatives(ports, snapshot, reservation, now=now)) from None
    if reservation.status is ReservationStatus.confirmed:
        meter, bay = snapshot.bays[BayId(reservation.bay_id)]
        await ports.bus.publish(confirmed_event(reservation, meter, bay))
        payment = taken.started if taken is not None else None
        return ReservationStart(reservation, payment, created=True, taken=taken)
    payment = await start_card_payment(
        ports,
        reservation,
        amount_rial=reservation.amount_rial,
        purpose=RESERVATION_PURPOSE,
        return_url=return_url,
        on_failure=_let_go,
    )
    return ReservationStart(reservation, payment, created=True)


def _usable_claims(
    ports: ParkingPorts, quote_token: str, citizen_id: str, amount_rial: int | None, now: datetime
) -> QuoteClaims:
    """The quote's claims, if the quote is the citizen's, unexpired and for this amount."""
    claims = ports.quotes.read(quote_token)
    check_quote_usable(claims, citizen_id=citizen_id, now=now)
    if amount_rial is not None and amount_rial != claims.amount_rial:
        raise PriceChangedError(
            "The amount does not match the quote. Ask for a new quote.", field="amount_rial"
        )
    if claims.window.ends_at <= now:
        raise InvalidWindowError("This time has already passed.", field="starts_at")
    return claims


async def _permit_if_needed(
    ports: ParkingPorts, snapshot: InventorySnapshot, claims: QuoteClaims
) -> bool:
    """For a disabled bay, whether the vehicle's permit still covers the stay (it may have
    been withdrawn since the quote); other bays need none, and nobody is asked."""
    _meter, bay = snapshot.bay(claims.bay_id)
    return bay.kind is BayKind.disabled and await holds_permit(
        ports, citizen_id=claims.citizen_id, plate=claims.plate, window=claims.window
    )


def _reservation_of(
    ports: ParkingPorts,
    snapshot: InventorySnapshot,
    claims: QuoteClaims,
    now: datetime,
    *,
    disability_permit: bool,
) -> Reservation:
    """The pending reservation a quote makes, if its bay and price still stand."""
    policy = ports.rules.policy
    meter, bay = snapshot.bay(claims.bay_id)
    check_bay_fits(bay.kind, claims.vehicle_kind, disability_permit=disability_permit)
    # The rules are judged as they stood when the quote was given, but the price must
    # still be the one quoted: a tariff that changed since means a new quote.
    quoted_at = claims.expires_at - policy.quote_ttl
    price = window_price(
        ports.rules,
        snapshot.zone_of(meter),
        meter.street_class,
        claims.vehicle_kind,
        claims.window,
        now=quoted_at,
    )
    if price.total_rial != claims.amount_rial or price.tariff_version != claims.tariff_version:
        raise PriceChangedError(
            "The price has changed since the quote. Ask for a new quote.", field="quote_token"
        )
    return Reservation(
        id=ReservationId(str(uuid.uuid4())),
        citizen_id=claims.citizen_id,
        bay_id=bay.id,
        meter_id=meter.id,
        plate=claims.plate,
        vehicle_kind=claims.vehicle_kind,
        street_class=meter.street_class,
        tariff_version=price.tariff_version,
        quote_id=claims.quote_id,
        status=ReservationStatus.pending,
        starts_at=claims.window.starts_at,
        ends_at=claims.window.ends_at,
        amount_rial=price.total_rial,
        created_at=now,
        hold_expires_at=now + policy.payment_hold,
    )


def _same_citizen(existing: Reservation, citizen_id: str) -> Reservation:
    if existing.citizen_id != citizen_id:
        raise not_found()
    return existing


async def start_card_payment(
    ports: ParkingPorts,
    reservation: Reservation,
    *,
    amount_rial: int,
    purpose: str,
    return_url: str | None,
    on_failure: Callable[[ParkingPorts, Reservation], Awaitable[None]],
) -> StartedPayment:
    """Ask payments for a card payment; if that fails, undo the hold and pass the error on."""
    try:
        return await ports.payments.request_payment(
            citizen_id=reservation.citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reservation.id,
            return_url=return_url or f"/parking/reservations/{reservation.id}",
            method="psp",
            paid_for=await paid_for(ports, reservation),
            pay_by=reservation.hold_expires_at,
        )
    except DomainError:
        # Refused or unreachable (PSP down): no money moved, so the hold goes. Any other
        # failure leaves the hold to lapse by itself, in case money did move.
        await on_failure(ports, reservation)
        raise


async def _let_go(ports: ParkingPorts, reservation: Reservation) -> None:
    """The payment never started: forget the hold, so nothing is booked by half."""
    async with writing(ports) as uow:
        await uow.reservations.delete_unpaid(reservation.id)
        await uow.commit()


async def pay_reservation(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    reservation_id: str,
    method: str = "psp",
    return_url: str | None = None,
) -> StartedPayment:
    """Pay again for a held reservation, or for its waiting extension.

    Refused while an earlier payment for it awaits the bank's answer (it may be paid).
    """
    await refuse_while_in_doubt(ports, reservation_id=reservation_id, doing="pay")
    if method == WALLET:
        return await _pay_held_from_wallet(
            ports, citizen_id=citizen_id, reservation_id=reservation_id, return_url=return_url
        )
    now = ports.clock.now()
    async with ReservationUnitOfWork(ports.database) as uow:
        reservation = _payable(await uow.reservations.get(reservation_id), citizen_id, now)
    return await ports.payments.request_payment(
        citizen_id=citizen_id,
        amount_rial=reservation.amount_due_rial,
        purpose=_purpose_of(reservation),
        reference=reservation.id,
        return_url=return_url or f"/parking/reservations/{reservation.id}",
        method="psp",
        paid_for=await paid_for(ports, reservation),
        pay_by=reservation.hold_expires_at,
    )


async def _pay_held_from_wallet(
    ports: ParkingPorts, *, citizen_id: str, reservation_id: str, return_url: str | None
) -> StartedPayment:
    """Pay what is due from the wallet, confirming the hold or extension in one transaction."""
    now = ports.clock.now()
    snapshot = await ports.inventory.current()
    async with writing(ports) as uow:
        found = await uow.reservations.get(reservation_id, lock=True)
        reservation = _payable(found, citizen_id, now)
        due, purpose = reservation.amount_due_rial, _purpose_of(reservation)
        if purpose == RESERVATION_PURPOSE:
            reservation.confirm(at=now)
            outcome = "confirmed"
        else:
            reservation.confirm_extension()
            outcome = "extended"
        await uow.reservations.save(reservation)
        taken = await pay_now(
            ports,
            uow,
            reservation,
            purpose=purpose,
            amount_rial=due,
            outcome=outcome,
            return_url=return_url,
        )
        await uow.commit()
    meter, bay = snapshot.bays[BayId(reservation.bay_id)]
    await ports.bus.publish(
        confirmed_event(reservation, meter, bay)
        if outcome == "confirmed"
        else extended_event_of(reservation, meter, bay)
    )
    return taken.started


def _payable(reservation: Reservation | None, citizen_id: str, now: datetime) -> Reservation:
    """The citizen's reservation, if it has something to pay and its hold is still alive."""
    if reservation is None or reservation.citizen_id != citizen_id:
        raise not_found()
    if reservation.amount_due_rial <= 0:
        raise ReservationStateError("This reservation has nothing left to pay.")
    if reservation.hold_expires_at is None or now >= reservation.hold_expires_at:
        raise ReservationStateError("The time to pay for this has run out. Ask for a new quote.")
    return reservation


def _purpose_of(reservation: Reservation) -> str:
    if reservation.status is ReservationStatus.pending:
        return RESERVATION_PURPOSE
    return EXTENSION_PURPOSE
