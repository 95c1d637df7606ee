"""A small test network: a 3x3 grid of two-way streets near Vali-Asr square, and detectors."""

from __future__ import annotations

from datetime import datetime, timedelta

from shahr.traffic.domain import DetectorKind, DetectorSpec, RoadClass, SegmentSpec
from shahr.traffic.domain.readings import DetectorReading, batch_payload

ORIGIN = (51.405, 35.710)
STEP = 0.004  # about 360 m east-west, 445 m north-south


def node(i: int, j: int) -> tuple[float, float]:
    return (round(ORIGIN[0] + i * STEP, 6), round(ORIGIN[1] + j * STEP, 6))


def grid_segments(size: int = 3) -> list[SegmentSpec]:
    """Every link of a size x size grid, both directions; row 1 is a major arterial."""
    specs = []
    for i in range(size):
        for j in range(size):
            for di, dj in ((1, 0), (0, 1)):
                a, b = (i, j), (i + di, j + dj)
                if b[0] >= size or b[1] >= size:
                    continue
                major = dj == 0 and j == 1
                for start, end in ((a, b), (b, a)):
                    specs.append(
                        SegmentSpec(
                            id=f"s{start[0]}{start[1]}-{end[0]}{end[1]}",
                            geometry=[node(*start), node(*end)],
                            road_class=RoadClass.major_arterial if major else RoadClass.local,
                            lanes=2 if major else 1,
                            from_node=f"n{start[0]}{start[1]}",
                            to_node=f"n{end[0]}{end[1]}",
                            name="Enghelab" if major else f"Street {i}{j}",
                        )
                    )
    return specs


MONITORED = ("s01-11", "s11-21", "s10-11")
DETECTORS = [
    DetectorSpec(id="d-01-11-1", segment_id="s01-11", lane=1),
    DetectorSpec(id="d-01-11-2", segment_id="s01-11", lane=2),
    DetectorSpec(id="d-11-21-1", segment_id="s11-21", lane=1),
    DetectorSpec(id="d-11-21-2", segment_id="s11-21", lane=2),
    DetectorSpec(id="d-10-11", segment_id="s10-11", kind=DetectorKind.counting_camera),
    DetectorSpec(id="cam-a", segment_id="s01-11", kind=DetectorKind.plate_camera),
    DetectorSpec(id="cam-b", segment_id="s11-21", kind=DetectorKind.plate_camera),
]


def reading(
    detector_id: str,
    observed_at: datetime,
    *,
    count: int = 10,
    occupancy_pct: float = 12.0,
    speed_kmh: float | None = 40.0,
    period_s: int = 30,
) -> DetectorReading:
    return DetectorReading(
        detector_id=detector_id,  # type: ignore[arg-type]
        observed_at=observed_at,
        period_s=period_s,
        count=count,
        occupancy_pct=occupancy_pct,
        speed_kmh=speed_kmh,
    )


def minute_of_readings(start: datetime, **values: float) -> bytes:
    """Two 30 s readings from every counting detector, ending within the minute after `start`."""
    readings = [
        reading(d.id, start + timedelta(seconds=s), **values)  # type: ignore[arg-type]
        for d in DETECTORS
        if d.kind is not DetectorKind.plate_camera
        for s in (30, 60)
    ]
    return batch_payload(readings)
