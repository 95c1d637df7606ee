"""What the twin's field devices send: SUMO's loop intervals and passages as Shahr payloads.

A loop reading (docs/traffic-feeds.md) carries the period's vehicle count, its occupancy
and `speed_kmh`, which the twin fills with the harmonic mean of the vehicles' spot speeds
(SUMO's `harmonicMeanSpeed`), not their arithmetic mean: the harmonic mean of spot speeds
is the space-mean speed that travel times and flow = density x speed are made of, and it
is what a dual-loop station that reports one speed per period should report. `observed_at`
is the end of the period. A passage carries a synthetic, valid Iranian plate, the same for
a vehicle at every camera of a run (a car keeps its plate), so journey times can be matched.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache

from shahr.demo.twin.outputs import LoopInterval, Passage
from shahr.kernel.plates import Plate, plate_letters
from shahr.traffic.domain import DetectorReading, PlatePassage
from shahr.traffic.domain.detectors import DetectorId

# Series letters of private cars; taxis, public-service, disabled-driver and official
# series are left out so the twin's traffic reads like a street's.
PRIVATE_CAR_LETTERS = ("B", "J", "D", "Sin", "Sad", "T", "Gh", "L", "M", "N", "V", "H", "Y")
# Tehran's own region codes (the number under «ایران») and a few from elsewhere.
REGION_CODES = (10, 11, 20, 22, 33, 44, 55, 66, 77, 88, 99, 21, 31, 68)


@cache
def _letters() -> tuple[str, ...]:
    known = {letter.label for letter in plate_letters()}
    return tuple(label for label in PRIVATE_CAR_LETTERS if label in known)


def synthetic_plate(vehicle_id: str, *, seed: int) -> Plate:
    """The plate a twin vehicle carries: random-looking, valid, the same for the same id."""
    # Not cryptography: a repeatable draw per vehicle (str seeds hash with SHA-512).
    draw = random.Random(f"shahr-twin:{seed}:{vehicle_id}")  # noqa: S311
    return Plate(
        first=str(draw.randint(11, 99)),
        letter=draw.choice(_letters()),
        middle=str(draw.randint(111, 999)),
        region=str(draw.choice(REGION_CODES)),
    )


def readings_of(
    intervals: Iterable[LoopInterval], *, day_start: datetime, period_s: int
) -> list[DetectorReading]:
    """Each loop interval as the reading its detector sends at the end of the period."""
    return [
        DetectorReading(
            detector_id=DetectorId(interval.detector_id),
            observed_at=day_start + timedelta(seconds=interval.end_s),
            period_s=period_s,
            count=interval.count,
            occupancy_pct=round(min(interval.occupancy_pct, 100.0), 2),
            speed_kmh=(
                round(interval.harmonic_speed_ms * 3.6, 2)
                if interval.harmonic_speed_ms is not None
                else None
            ),
        )
        for interval in intervals
    ]


def passages_of(
    passages: Iterable[Passage], *, day_start: datetime, seed: int
) -> list[PlatePassage]:
    """Each passage as its camera reports it: the plate, the lane, to the millisecond."""
    return [
        PlatePassage(
            camera_id=DetectorId(passage.camera_id),
            observed_at=day_start + timedelta(milliseconds=round(passage.time_s * 1000)),
            plate=synthetic_plate(passage.vehicle_id, seed=seed).canonical,
            lane=passage.lane,
        )
        for passage in passages
    ]
