"""FIWARE Smart Data Models exports: bays as `ParkingSpot`, meters as `OnStreetParking`.

NGSI-LD, in both representations: keyValues (plain values) and normalized (each attribute
an object with `type` Property, Relationship or GeoProperty). `status` is occupancy as a
sensor would see it, with FIWARE's values (free, occupied, closed, unknown): Shahr has no
bay sensors yet, so it is `closed` when street parking does not run and `unknown`
otherwise. Whether a bay is reserved, and paid, are separate attributes (`reserved`,
`paid`), never a status.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from shahr.kernel.clock import in_tehran
from shahr.kernel.db import Database
from shahr.parking.domain import (
    Bay,
    BayKind,
    Meter,
    MeterId,
    ParkingRules,
    TimeWindow,
    VehicleKind,
    Zone,
    day_off,
)
from shahr.parking.domain.inventory import VEHICLES_FOR_BAY
from shahr.parking.queries import InventoryCache, held_bays

NGSI_LD_CONTEXT = [
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld",
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
]
RELATIONSHIPS = frozenset({"refParkingSite", "refParkingSpot", "refDevice"})
GEO_PROPERTIES = frozenset({"location"})
# DATEX II VehicleTypeEnum words for the vehicles each bay kind takes.
_DATEX_VEHICLE = {
    VehicleKind.car: "car",
    VehicleKind.van: "van",
    VehicleKind.light_truck: "lorry",
    VehicleKind.minibus: "bus",
    VehicleKind.motorcycle: "motorcycle",
}
_MAX_PAGE = 1_000
# Now, as a window: a bay held at this minute is reserved now.
_INSTANT = timedelta(minutes=1)


def spot_id(city: str, bay_id: int) -> str:
    return f"urn:ngsi-ld:ParkingSpot:{city}:bay-{bay_id}"


def site_id(city: str, meter_id: int) -> str:
    return f"urn:ngsi-ld:OnStreetParking:{city}:meter-{meter_id}"


def device_id(city: str, meter: Meter) -> str:
    return f"urn:ngsi-ld:Device:{city}:{meter.device_id}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def occupancy(zone: Zone, rules: ParkingRules, *, now: datetime) -> str:
    """FIWARE's occupancy status of a bay in this zone now (no sensors: closed or unknown)."""
    local = in_tehran(now)
    minutes = local.hour * 60 + local.minute
    if day_off(local.date(), zone.rules, rules.holidays) or not (
        zone.rules.opens_min <= minutes < zone.rules.closes_min
    ):
        return "closed"
    return "unknown"


def parking_spot_key_values(
    meter: Meter,
    bay: Bay,
    zone: Zone,
    *,
    city: str,
    status: str,
    reserved: bool,
    paid: bool,
    now: datetime,
) -> dict[str, Any]:
    return {
        "id": spot_id(city, bay.id),
        "type": "ParkingSpot",
        "name": f"{meter.device_id}-{bay.number}",
        "description": f"{meter.street_en}, bay {bay.number} ({bay.kind.value})",
        "location": {"type": "Point", "coordinates": [meter.lon, meter.lat]},
        "status": status,
        "category": ["onStreet"],
        "refParkingSite": site_id(city, meter.id),
        "refDevice": [device_id(city, meter)],
        "bayNumber": bay.number,
        "bayKind": bay.kind.value,
        "reserved": reserved,
        "paid": paid,
        "dateObserved": _iso(now),
        "dataProvider": f"shahr:{city}",
        "source": "https://github.com/shahr-city/shahr",
        "timeInstant": _iso(now),
        **({"annotations": ["demo"]} if meter.demo else {}),
        "@context": NGSI_LD_CONTEXT,
        "districtNumber": zone.district,
    }


def on_street_parking_key_values(
    meter: Meter,
    zone: Zone,
    *,
    city: str,
    status: str,
    available: int,
    now: datetime,
) -> dict[str, Any]:
    bays = [bay for bay in meter.bays if bay.in_service]
    kinds = {bay.kind for bay in bays}
    vehicles: list[str] = []
    for kind in (BayKind.car, BayKind.disabled, BayKind.motorcycle, BayKind.loading):
        if kind in kinds:
            for vehicle in sorted(VEHICLES_FOR_BAY[kind]):
                word = _DATEX_VEHICLE[vehicle]
                if word not in vehicles:
                    vehicles.append(word)
    category = ["feeCharged", "shortTerm"]
    if BayKind.disabled in kinds:
        category.append("forDisabled")
    if BayKind.loading in kinds:
        category.append("forLoadUnload")
    if status == "closed":
        available = 0
    return {
        "id": site_id(city, meter.id),
        "type": "OnStreetParking",
        "name": f"{meter.street_en} ({meter.device_id})",
        "alternateName": meter.street_fa,
        "location": {"type": "Point", "coordinates": [meter.lon, meter.lat]},
        "category": category,
        "allowedVehicleType": vehicles,
        "chargeType": ["temporaryFee"],
        "requiredPermit": [],
        "maximumParkingDuration": f"PT{zone.rules.max_stay_min}M",
        "totalSpotNumber": len(bays),
        "availableSpotNumber": available,
        "refParkingSpot": [spot_id(city, bay.id) for bay in bays],
        "parkingSiteId": meter.device_id,
        "occupancyDetectionType": ["none"],
        "municipalityInfo": {
            "district": f"District {zone.district}",
            "cityName": city,
            "zoneId": zone.code,
            "zoneName": zone.name_en,
        },
        "streetClass": meter.street_class.value,
        "status": status,
        "observationDateTime": _iso(now),
        "dataProvider": f"shahr:{city}",
        **({"annotations": ["demo"]} if meter.demo else {}),
        "@context": NGSI_LD_CONTEXT,
    }


def normalized(entity: dict[str, Any], *, observed_at: datetime | None = None) -> dict[str, Any]:
    """The keyValues entity in NGSI-LD's normalized form."""
    result: dict[str, Any] = {}
    for key, value in entity.items():
        if key in ("id", "type", "@context"):
            result[key] = value
        elif key in RELATIONSHIPS:
            result[key] = {"type": "Relationship", "object": value}
        elif key in GEO_PROPERTIES:
            result[key] = {"type": "GeoProperty", "value": value}
        else:
            attribute: dict[str, Any] = {"type": "Property", "value": value}
            if key == "status" and observed_at is not None:
                attribute["observedAt"] = _iso(observed_at)
            result[key] = attribute
    return result


async def parking_spots(
    database: Database,
    inventory: InventoryCache,
    rules: ParkingRules,
    *,
    city: str,
    now: datetime,
    key_values: bool,
    meter_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Bays as ParkingSpot entities now, by bay id (one meter's if `meter_id`)."""
    snapshot = await inventory.current()
    if meter_id is not None:
        pairs = [(snapshot.meter(meter_id), b) for b in snapshot.meter(meter_id).bays]
    else:
        pairs = sorted(snapshot.bays.values(), key=lambda pair: pair[1].id)
    pairs = [(m, b) for m, b in pairs if b.in_service][offset : offset + min(limit, _MAX_PAGE)]
    moment = TimeWindow(now, now + _INSTANT)
    held, paid = await held_bays(database, sorted({m.id for m, _ in pairs}), moment, now=now)
    entities = []
    for meter, bay in pairs:
        zone = snapshot.zone_of(meter)
        entity = parking_spot_key_values(
            meter,
            bay,
            zone,
            city=city,
            status=occupancy(zone, rules, now=now),
            reserved=bay.id in held,
            paid=bay.id in paid,
            now=now,
        )
        entities.append(entity if key_values else normalized(entity, observed_at=now))
    return entities


async def on_street_parkings(
    database: Database,
    inventory: InventoryCache,
    rules: ParkingRules,
    *,
    city: str,
    now: datetime,
    key_values: bool,
    limit: int = 100,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Meters as OnStreetParking entities now, with how many bays are not held."""
    snapshot = await inventory.current()
    meters = sorted(snapshot.meters.values(), key=lambda m: m.id)
    meters = meters[offset : offset + min(limit, _MAX_PAGE)]
    moment = TimeWindow(now, now + _INSTANT)
    held, _paid = await held_bays(database, [MeterId(m.id) for m in meters], moment, now=now)
    entities = []
    for meter in meters:
        zone = snapshot.zone_of(meter)
        free = sum(1 for bay in meter.bays if bay.in_service and bay.id not in held)
        entity = on_street_parking_key_values(
            meter,
            zone,
            city=city,
            status=occupancy(zone, rules, now=now),
            available=free,
            now=now,
        )
        entities.append(entity if key_values else normalized(entity, observed_at=now))
    return entities
