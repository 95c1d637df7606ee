"""Quote, then reserve: a signed price for a bay, plate and window; a hold until it is paid.

A reservation is written pending, holding its bay for the payment window, and only a
verified payment confirms it (`payments.take_verified_payment`; a wallet payment, verified
before the port answers, at once through `payments.take_paid_at_once`). The hold is the one
write that must never overlap another: see `persistence/reservations.py` and decision 0011.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError, IntegrityError

from shahr.kernel.errors import ConflictError, DomainError
from shahr.kernel.geo import LonLat
from shahr.kernel.plates import InvalidPlateError, Plate, parse_plate
from shahr.parking.domain import (
    DISABLED_PLATE_LETTER,
    Alternative,
    Bay,
    InvalidWindowError,
    Meter,
    Price,
    QuoteClaims,
    Reservation,
    ReservationId,
    ReservationStateError,
    ReservationStatus,
    TimeWindow,
    UnknownVehicleError,
    VehicleKind,
    VehicleKindMismatchError,
    Zone,
    bay_fits,
    bay_taken,
    check_bay_fits,
    check_quote_usable,
    next_whole_minute,
    not_found,
)
from shahr.parking.gateways import EXTENSION_PURPOSE, RESERVATION_PURPOSE, StartedPayment
from shahr.parking.persistence import ReservationUnitOfWork, is_deadlock, is_overlap_violation
from shahr.parking.queries import InventorySnapshot, held_bays, window_price
from shahr.parking.services.payments import PaymentTaken, confirmed_event, take_paid_at_once
from shahr.parking.services.ports import ParkingPorts

log = logging.getLogger(__name__)

MAX_STAY_ASKED_MIN = 24 * 60


class PriceChangedError(ConflictError):
    """The amount the citizen saw is not what the quote (or the tariff now) says."""


@dataclass(frozen=True)
class Quote:
    """A price for one bay, plate and window, with the token that reserves it."""

    token: str
    claims: QuoteClaims
    price: Price
    meter: Meter
    bay: Bay
    zone: Zone


@dataclass(frozen=True)
class ReservationStart:
    """A reservation held (or found again for the same quote) and the payment begun for it.

    Paid from the wallet, the payment is verified before the port answers and the
    reservation comes back confirmed (`taken` says what the payment did: `duplicate` if
    the bus took it a moment earlier).
    """

    reservation: Reservation
    payment: StartedPayment | None
    created: bool
    taken: PaymentTaken | None = None


def read_plate(text: str) -> Plate:
    try:
        return parse_plate(text)
    except InvalidPlateError as error:
        # The parser names the plate's part to blame; the caller typed one `plate` field.
        raise InvalidPlateError(error.message, field="plate", **error.params) from error


async def vehicle_kind_of(
    ports: ParkingPorts, *, citizen_id: str, plate: Plate, asked: str | None
) -> VehicleKind:
    """The kind the plate is registered with; the plate must be one of the citizen's."""
    registered = await ports.vehicles.vehicle_kind(citizen_id=citizen_id, plate=plate.canonical)
    if registered is None or registered not in VehicleKind.__members__:
        raise UnknownVehicleError(
            "This plate is not one of your registered vehicles. Add it to your account first.",
            field="plate",
        )
    kind = VehicleKind(registered)
    if asked is not None and asked != kind.value:
        raise VehicleKindMismatchError(
            "This plate is registered as another kind of vehicle.", field="vehicle_kind"
        )
    return kind


def ask_window(
    now: datetime,
    *,
    starts_at: datetime | None,
    ends_at: datetime | None,
    duration_min: int | None,
) -> TimeWindow:
    """The window asked for: from now (the next whole minute) unless a start is given."""
    start = starts_at if starts_at is not None else next_whole_minute(now)
    if ends_at is None:
        if duration_min is None:
            raise InvalidWindowError("Say when the stay ends.", field="ends_at")
        if not 0 < duration_min <= MAX_STAY_ASKED_MIN:
            raise InvalidWindowError(
                "A stay here may last at most {minutes} minutes.",
                field="duration_min",
                minutes=MAX_STAY_ASKED_MIN,
            )
        ends_at = start + timedelta(minutes=duration_min)
    if start.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidWindowError("Give times with their time zone.", field="starts_at")
    return TimeWindow(start, ends_at)


async def quote_bay(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    bay_id: int,
    plate: str,
    vehicle_kind: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    duration_min: int | None = None,
) -> Quote:
    """Price a stay in one bay for one of the citizen's vehicles; refuse what breaks a rule."""
    now = ports.clock.now()
    parsed = read_plate(plate)
    snapshot = await ports.inventory.current()
    meter, bay = snapshot.bay(bay_id)
    zone = snapshot.zone_of(meter)
    kind = await vehicle_kind_of(ports, citizen_id=citizen_id, plate=parsed, asked=vehicle_kind)
    check_bay_fits(bay.kind, kind, disabled_plate=parsed.letter == DISABLED_PLATE_LETTER)
    window = ask_window(now, starts_at=starts_at, ends_at=ends_at, duration_min=duration_min)
    price = window_price(ports.rules, zone, meter.street_class, kind, window, now=now)
    claims = QuoteClaims(
        quote_id=str(uuid.uuid4()),
        citizen_id=citizen_id,
        bay_id=bay.id,
        plate=parsed.canonical,
        vehicle_kind=kind,
        window=window,
        amount_rial=price.total_rial,
        tariff_version=price.tariff_version,
        expires_at=now + ports.rules.policy.quote_ttl,
    )
    return Quote(ports.quotes.sign(claims), claims, price, meter, bay, zone)


async def reserve(
    ports: ParkingPorts,
    *,
    citizen_id: str,
    quote_token: str,
    amount_rial: int | None = None,
    method: str = "psp",
    return_url: str | None = None,
) -> ReservationStart:
    """Hold the quoted bay for the payment window and start paying for it.

    The same quote twice gives the same reservation back (`created` False). A bay held by
    someone else for part of the window raises `BayTakenError` with free alternatives. If
    the payment cannot start, the hold is let go and nothing is booked.
    """
    now = ports.clock.now()
    policy = ports.rules.policy
    claims = ports.quotes.read(quote_token)
    check_quote_usable(claims, citizen_id=citizen_id, now=now)
    if amount_rial is not None and amount_rial != claims.amount_rial:
        raise PriceChangedError(
            "The amount does not match the quote. Ask for a new quote.", field="amount_rial"
        )
    snapshot = await ports.inventory.current()
    meter, bay = snapshot.bay(claims.bay_id)
    plate = read_plate(claims.plate)
    check_bay_fits(bay.kind, claims.vehicle_kind, disabled_plate=_disabled(plate))
    window = claims.window
    if window.ends_at <= now:
        raise InvalidWindowError("This time has already passed.", field="starts_at")
    # The rules are judged as they stood when the quote was given, but the price must
    # still be the one quoted: a tariff that changed since means a new quote.
    quoted_at = claims.expires_at - policy.quote_ttl
    price = window_price(
        ports.rules,
        snapshot.zone_of(meter),
        meter.street_class,
        claims.vehicle_kind,
        window,
        now=quoted_at,
    )
    if price.total_rial != claims.amount_rial or price.tariff_version != claims.tariff_version:
        raise PriceChangedError(
            "The price has changed since the quote. Ask for a new quote.", field="quote_token"
        )
    reservation = Reservation(
        id=ReservationId(str(uuid.uuid4())),
        citizen_id=citizen_id,
        bay_id=bay.id,
        meter_id=meter.id,
        plate=claims.plate,
        vehicle_kind=claims.vehicle_kind,
        street_class=meter.street_class,
        tariff_version=price.tariff_version,
        quote_id=claims.quote_id,
        status=ReservationStatus.pending,
        starts_at=window.starts_at,
        ends_at=window.ends_at,
        amount_rial=price.total_rial,
        created_at=now,
        hold_expires_at=now + policy.payment_hold,
    )
    if reservation.amount_rial == 0:
        reservation.confirm(at=now)
    existing = await _hold(ports, reservation, snapshot, now=now)
    if existing is not None:
        return ReservationStart(existing, None, created=False)
    if reservation.status is ReservationStatus.confirmed:
        await ports.bus.publish(confirmed_event(reservation, meter, bay))
        return ReservationStart(reservation, None, created=True)
    payment = await start_payment(
        ports,
        reservation,
        amount_rial=reservation.amount_rial,
        purpose=RESERVATION_PURPOSE,
        method=method,
        return_url=return_url,
        on_failure=_let_go,
    )
    # The wallet has paid already: confirm now, so the answer says confirmed.
    taken = await take_paid_at_once(
        ports,
        payment,
        citizen_id=reservation.citizen_id,
        purpose=RESERVATION_PURPOSE,
        reference=reservation.id,
    )
    if taken is None:
        return ReservationStart(reservation, payment, created=True)
    return ReservationStart(taken.reservation or reservation, payment, created=True, taken=taken)


def _disabled(plate: Plate) -> bool:
    return plate.letter == DISABLED_PLATE_LETTER


async def _hold(
    ports: ParkingPorts, reservation: Reservation, snapshot: InventorySnapshot, *, now: datetime
) -> Reservation | None:
    """Write the hold, or answer the reservation this quote already made.

    The usual case is one INSERT. Only when the bay looks taken are its lapsed holds let go
    and the write tried once more; only then is the quote looked up, in case it was used.
    """
    for attempt in range(2):
        try:
            async with ReservationUnitOfWork(ports.database, write=True) as uow:
                if attempt:
                    await uow.reservations.release_lapsed(reservation.bay_id, now)
                # SQLite has no exclusion constraint: under its write lock, look first.
                if uow.is_sqlite and await uow.reservations.overlapping(
                    reservation.bay_id, reservation.window
                ):
                    continue
                await uow.reservations.add(reservation)
                await uow.commit()
                return None
        except IntegrityError as error:
            if not is_overlap_violation(error):
                return await _already_made(ports, reservation, error)
        except DBAPIError as error:
            # Two overlapping holds inserted at the same moment may each wait for the
            # other's transaction (an exclusion constraint has no way round that, unlike a
            # unique index); PostgreSQL fails one, which tries again and meets the other.
            if not is_deadlock(error):
                raise
    return await _already_made(
        ports, reservation, bay_taken(await alternatives(ports, snapshot, reservation, now=now))
    )


async def _already_made(
    ports: ParkingPorts, reservation: Reservation, error: Exception
) -> Reservation:
    """The reservation this quote already made, if it did; otherwise `error` stands."""
    async with ReservationUnitOfWork(ports.database) as uow:
        existing = await uow.reservations.by_quote(reservation.quote_id)
    if existing is None:
        raise error
    return _same_citizen(existing, reservation.citizen_id)


def _same_citizen(existing: Reservation, citizen_id: str) -> Reservation:
    if existing.citizen_id != citizen_id:
        raise not_found()
    return existing


async def alternatives(
    ports: ParkingPorts, snapshot: InventorySnapshot, wanted: Reservation, *, now: datetime
) -> tuple[Alternative, ...]:
    """Free bays for the same window and vehicle: the same meter first, then the nearest."""
    policy = ports.rules.policy
    meter = snapshot.meter(wanted.meter_id)
    plate = read_plate(wanted.plate)
    nearby = snapshot.meter_index.nearest(
        LonLat(meter.lon, meter.lat), 12, max_distance_m=policy.alternatives_within_m
    )
    candidates = [(meter, 0.0)] + [(snapshot.meters[m], d) for m, d in nearby if m != meter.id]
    held, _paid = await held_bays(
        ports.database, [m.id for m, _ in candidates], wanted.window, now=now
    )
    found: list[Alternative] = []
    for candidate, distance_m in candidates:
        try:
            price = window_price(
                ports.rules,
                snapshot.zone_of(candidate),
                candidate.street_class,
                wanted.vehicle_kind,
                wanted.window,
                now=now,
            )
        except DomainError:
            continue
        for bay in candidate.bays:
            if (
                bay.in_service
                and bay.id != wanted.bay_id
                and bay.id not in held
                and bay_fits(bay.kind, wanted.vehicle_kind, disabled_plate=_disabled(plate))
            ):
                found.append(
                    Alternative(
                        bay_id=bay.id,
                        bay_number=bay.number,
                        meter_id=candidate.id,
                        meter_device_id=candidate.device_id,
                        street_fa=candidate.street_fa,
                        street_en=candidate.street_en,
                        distance_m=round(distance_m, 1),
                        price_rial=price.total_rial,
                    )
                )
                if len(found) == policy.alternatives:
                    return tuple(found)
    return tuple(found)


async def start_payment(
    ports: ParkingPorts,
    reservation: Reservation,
    *,
    amount_rial: int,
    purpose: str,
    method: str,
    return_url: str | None,
    on_failure: Callable[[ParkingPorts, Reservation], Awaitable[None]],
) -> StartedPayment:
    """Ask payments for the money; if that fails, undo the hold and pass the error on."""
    try:
        return await ports.payments.request_payment(
            citizen_id=reservation.citizen_id,
            amount_rial=amount_rial,
            purpose=purpose,
            reference=reservation.id,
            return_url=return_url or f"/parking/reservations/{reservation.id}",
            method=method,
        )
    except DomainError:
        # Refused or unreachable (PSP down, wallet short): no money moved, so the hold goes.
        # Any other failure leaves the hold to lapse by itself, in case money did move.
        await on_failure(ports, reservation)
        raise


async def _let_go(ports: ParkingPorts, reservation: Reservation) -> None:
    """The payment never started: forget the hold, so nothing is booked by half."""
    async with ReservationUnitOfWork(ports.database, write=True) as uow:
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
    """Start paying again for a held reservation, or for its waiting extension."""
    now = ports.clock.now()
    async with ReservationUnitOfWork(ports.database) as uow:
        reservation = await uow.reservations.get(reservation_id)
    if reservation is None or reservation.citizen_id != citizen_id:
        raise not_found()
    due = reservation.amount_due_rial
    if due <= 0:
        raise ReservationStateError("This reservation has nothing left to pay.")
    if reservation.hold_expires_at is None or now >= reservation.hold_expires_at:
        raise ReservationStateError("The time to pay for this has run out. Ask for a new quote.")
    purpose = (
        RESERVATION_PURPOSE
        if reservation.status is ReservationStatus.pending
        else EXTENSION_PURPOSE
    )
    payment = await ports.payments.request_payment(
        citizen_id=citizen_id,
        amount_rial=due,
        purpose=purpose,
        reference=reservation.id,
        return_url=return_url or f"/parking/reservations/{reservation.id}",
        method=method,
    )
    await take_paid_at_once(
        ports, payment, citizen_id=citizen_id, purpose=purpose, reference=reservation.id
    )
    return payment
