"""Quotes: a signed price for one bay, plate and window, and the free bays offered instead
when the one asked for is taken."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shahr.kernel.errors import ConflictError, DomainError
from shahr.kernel.geo import LonLat
from shahr.kernel.plates import (
    InvalidPlateError,
    VehiclePlate,
    check_plate_shape,
    parse_vehicle_plate,
)
from shahr.parking.domain import (
    Alternative,
    Bay,
    InvalidWindowError,
    Meter,
    Price,
    QuoteClaims,
    Reservation,
    TimeWindow,
    UnknownVehicleError,
    VehicleKind,
    VehicleKindMismatchError,
    Zone,
    bay_fits,
    check_bay_fits,
    next_whole_minute,
    permit_covers,
)
from shahr.parking.gateways import RegisteredVehicle
from shahr.parking.queries import InventorySnapshot, held_bays, window_price
from shahr.parking.services.ports import ParkingPorts

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


def read_plate(text: str) -> VehiclePlate:
    try:
        return parse_vehicle_plate(text)
    except InvalidPlateError as error:
        # The parser names the plate's part to blame; the caller typed one `plate` field.
        raise InvalidPlateError(error.message, field="plate", **error.params) from error


async def registered_vehicle(
    ports: ParkingPorts, *, citizen_id: str, plate: VehiclePlate, asked: str | None
) -> tuple[VehicleKind, RegisteredVehicle]:
    """The citizen's vehicle with this plate and its kind; the plate must be one of theirs,
    of its kind's shape (a vehicle registered before plates were checked may not be)."""
    found = await ports.vehicles.vehicle(citizen_id=citizen_id, plate=plate.canonical)
    if found is None or found.kind not in VehicleKind.__members__:
        raise UnknownVehicleError(
            "This plate is not one of your registered vehicles. Add it to your account first.",
            field="plate",
        )
    kind = VehicleKind(found.kind)
    if asked is not None and asked != kind.value:
        raise VehicleKindMismatchError(
            "This plate is registered as another kind of vehicle.", field="vehicle_kind"
        )
    try:
        check_plate_shape(plate, motorcycle=kind is VehicleKind.motorcycle)
    except InvalidPlateError as error:
        raise VehicleKindMismatchError(error.message, field="plate", **error.params) from None
    return kind, found


async def vehicle_kind_of(
    ports: ParkingPorts, *, citizen_id: str, plate: VehiclePlate, asked: str | None
) -> VehicleKind:
    """The kind the plate is registered with; the plate must be one of the citizen's."""
    kind, _found = await registered_vehicle(ports, citizen_id=citizen_id, plate=plate, asked=asked)
    return kind


async def holds_permit(
    ports: ParkingPorts, *, citizen_id: str, plate: str, window: TimeWindow
) -> bool:
    """Whether the citizen's vehicle carries a disability permit valid for the whole window."""
    found = await ports.vehicles.vehicle(citizen_id=citizen_id, plate=plate)
    return found is not None and permit_covers(found.permit_expires_on, window.ends_at)


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
    kind, vehicle = await registered_vehicle(
        ports, citizen_id=citizen_id, plate=parsed, asked=vehicle_kind
    )
    window = ask_window(now, starts_at=starts_at, ends_at=ends_at, duration_min=duration_min)
    permit = permit_covers(vehicle.permit_expires_on, window.ends_at)
    check_bay_fits(bay.kind, kind, disability_permit=permit)
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


async def alternatives(
    ports: ParkingPorts, snapshot: InventorySnapshot, wanted: Reservation, *, now: datetime
) -> tuple[Alternative, ...]:
    """Free bays for the same window and vehicle: the same meter first, then the nearest."""
    policy = ports.rules.policy
    meter = snapshot.meter(wanted.meter_id)
    permit = await holds_permit(
        ports, citizen_id=wanted.citizen_id, plate=wanted.plate, window=wanted.window
    )
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
                and bay_fits(bay.kind, wanted.vehicle_kind, disability_permit=permit)
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
