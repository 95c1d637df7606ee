"""An inventory snapshot laid out for search, once per snapshot (its `search_arrays`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from shahr.kernel.errors import DomainError
from shahr.kernel.geo import BoolArray
from shahr.parking.domain import (
    Bay,
    BayId,
    Meter,
    MeterId,
    ParkingRules,
    Price,
    StreetClass,
    TimeWindow,
    VehicleKind,
    Zone,
    bay_fits,
)

# A window's price for a (zone, street class), or the rule the window breaks.
PriceOutcome = Price | DomainError
# Priced windows kept per snapshot; the whole table is dropped when it fills.
_MAX_PRICED_WINDOWS = 2_000


def fits_vehicle(bay: Bay, vehicle_kind: VehicleKind) -> bool:
    """Search counts a disabled bay for cars and vans: the permit decides at the quote."""
    return bay.in_service and bay_fits(bay.kind, vehicle_kind, disability_permit=True)


def _now_allows(window: TimeWindow, rules: ParkingRules, now: datetime) -> bool:
    """Whether `check_window`'s only tests that read `now` pass (it is not too late, and
    not too far ahead): then its answer, and so the price, is the same at any such `now`."""
    policy = rules.policy
    return (
        window.starts_at >= now - policy.start_grace
        and window.ends_at > now
        and window.starts_at <= now + policy.max_advance
    )


@dataclass
class SearchArrays:
    """Per meter (in the meter index's order), its id, zone and price group; per vehicle
    kind, the bays that take it and what an answer shows of it (once shown); per (vehicle
    kind, window), each group's price once known."""

    meters: list[Meter]
    ids: list[MeterId]
    zones: list[Zone]
    position: dict[MeterId, int]
    group: npt.NDArray[np.intp]
    group_of: list[int]
    groups: list[tuple[str, StreetClass]]
    by_kind: dict[VehicleKind, tuple[BoolArray, list[list[BayId]]]] = field(default_factory=dict)
    prices: dict[tuple[VehicleKind, TimeWindow], tuple[ParkingRules, list[PriceOutcome | None]]] = (
        field(default_factory=dict)
    )
    shown_by_kind: dict[VehicleKind, list[dict[str, object] | None]] = field(default_factory=dict)

    @classmethod
    def of(cls, meters: Sequence[Meter], zones: Mapping[str, Zone]) -> SearchArrays:
        """The arrays for these meters, in the order given (the meter index's)."""
        number: dict[tuple[str, StreetClass], int] = {}
        group_of = [
            number.setdefault((meter.zone_code, meter.street_class), len(number))
            for meter in meters
        ]
        return cls(
            meters=list(meters),
            ids=[meter.id for meter in meters],
            zones=[zones[meter.zone_code] for meter in meters],
            position={meter.id: i for i, meter in enumerate(meters)},
            group=np.array(group_of, dtype=np.intp),
            group_of=group_of,
            groups=list(number),
        )

    def fitting(self, vehicle_kind: VehicleKind) -> tuple[BoolArray, list[list[BayId]]]:
        """Per meter: whether any bay takes the vehicle, and which bays do."""
        if vehicle_kind not in self.by_kind:
            bays = [
                [bay.id for bay in meter.bays if fits_vehicle(bay, vehicle_kind)]
                for meter in self.meters
            ]
            fits = np.fromiter((bool(b) for b in bays), dtype=np.bool_, count=len(bays))
            self.by_kind[vehicle_kind] = (fits, bays)
        return self.by_kind[vehicle_kind]

    def shown(self, vehicle_kind: VehicleKind) -> list[dict[str, object] | None]:
        """Per meter, what an answer shows of it whatever the window (`shown_as`), once
        the meter has been in an answer for this vehicle kind."""
        found = self.shown_by_kind.get(vehicle_kind)
        if found is None:
            found = self.shown_by_kind[vehicle_kind] = [None] * len(self.meters)
        return found

    def shown_as(
        self, metro_of: Callable[[Meter], object], position: int, vehicle_kind: VehicleKind
    ) -> dict[str, object]:
        """A `MeterAvailability`'s fields that depend on the meter and vehicle kind alone,
        with every fitting bay free: the meter, its zone and closest metro station."""
        meter = self.meters[position]
        total = len(self.fitting(vehicle_kind)[1][position])
        shown: dict[str, object] = {
            "meter": meter,
            "zone": self.zones[position],
            "distance_m": None,
            "bays_total": total,
            "bays_free": total,
            "price": None,
            "refusal": None,
            "metro": metro_of(meter),
        }
        self.shown(vehicle_kind)[position] = shown
        return shown

    def price_table(
        self, rules: ParkingRules, vehicle_kind: VehicleKind, window: TimeWindow, now: datetime
    ) -> list[PriceOutcome | None]:
        """Per price group, the window's price once worked out (None until then): shared by
        the searches for which `_now_allows` holds, this search's own otherwise."""
        if not _now_allows(window, rules, now):
            return [None] * len(self.groups)
        key = (vehicle_kind, window)
        kept = self.prices.get(key)
        if kept is None or kept[0] is not rules:
            if len(self.prices) >= _MAX_PRICED_WINDOWS:
                self.prices.clear()
            kept = self.prices[key] = (rules, [None] * len(self.groups))
        return kept[1]
