"""The camera registry's use cases: load a camera file, add or edit one, retire one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.geo import LonLat
from shahr.traffic.domain.cameras import Camera, CameraStatus, camera_from_fields
from shahr.traffic.domain.errors import CameraNotFoundError, InvalidCameraError
from shahr.traffic.domain.inventory import MAX_ROWS, InventoryFileError, RowProblem, problem_from
from shahr.traffic.domain.placement import SegmentPlacer
from shahr.traffic.persistence import TrafficUnitOfWork

# A camera stands by the road it watches: within this, it is snapped to that segment.
CAMERA_SNAP_M = 60.0
# Further than this from every road of the network, a camera is not in the city.
CITY_REACH_M = 5_000.0


@dataclass(frozen=True)
class CameraImportReport:
    source: str
    rows: int
    added: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.rows - self.added - self.updated


def _snapped(camera: Camera, placer: SegmentPlacer | None) -> Camera:
    """The camera with the segment it stands by; refuses one far from every road."""
    if placer is None:
        return camera
    snap = placer.nearest(LonLat(camera.lon, camera.lat), max_distance_m=CITY_REACH_M)
    if snap is None:
        raise InvalidCameraError(
            "Camera {camera} is more than {km} km from every road of the network: is it in"
            " the city?",
            field="lon",
            camera=camera.id,
            km=round(CITY_REACH_M / 1000),
        )
    return replace(camera, segment_id=snap.segment_id if snap.distance_m <= CAMERA_SNAP_M else None)


async def _placer(uow: TrafficUnitOfWork) -> SegmentPlacer | None:
    segments = await uow.network.all()
    return SegmentPlacer(segments) if segments else None


async def import_cameras(
    database: Database,
    clock: Clock,
    *,
    rows: Sequence[tuple[int, Mapping[str, Any]]],
    source: str,
    by: str,
) -> CameraImportReport:
    """Load a camera file's rows (row number, fields), all or none; same id updates."""
    found: list[RowProblem] = []
    if not rows:
        raise InvalidCameraError("The file holds no cameras to import.")
    if len(rows) > MAX_ROWS:
        raise InvalidCameraError("A file may hold at most {limit} rows.", limit=MAX_ROWS)
    async with TrafficUnitOfWork(database) as uow:
        placer = await _placer(uow)
        cameras: list[Camera] = []
        seen: dict[str, int] = {}
        for number, fields in rows:
            try:
                camera = _snapped(camera_from_fields(fields), placer)
            except DomainError as error:
                found.append(problem_from(number, error))
                continue
            if camera.id in seen:
                found.append(
                    RowProblem(
                        number,
                        "Camera {camera} is already on row {row}.",
                        {"camera": camera.id, "row": seen[camera.id]},
                    )
                )
                continue
            seen[camera.id] = number
            cameras.append(camera)
        if found:
            raise InventoryFileError(source, sorted(found, key=lambda p: p.row))
        stored = {c.id: c for c in await uow.cameras.all()}
        differ = [c for c in cameras if stored.get(c.id) != c]
        await uow.cameras.save(differ, now=clock.now(), by=by)
        await uow.commit()
    added = sum(1 for c in differ if c.id not in stored)
    return CameraImportReport(
        source=source, rows=len(cameras), added=added, updated=len(differ) - added
    )


async def save_camera(
    database: Database, clock: Clock, *, fields: Mapping[str, Any], by: str, adding: bool
) -> Camera:
    """Add a camera (`adding`) or edit one; errors name the form's field."""
    camera = camera_from_fields(fields)
    async with TrafficUnitOfWork(database) as uow:
        stored = await uow.cameras.get(camera.id)
        if adding and stored is not None:
            raise InvalidCameraError(
                "Camera {camera} is already registered: edit it instead.",
                field="id",
                camera=camera.id,
            )
        if not adding and stored is None:
            raise CameraNotFoundError("No camera has this id.")
        camera = _snapped(camera, await _placer(uow))
        await uow.cameras.save([camera], now=clock.now(), by=by)
        await uow.commit()
    return camera


async def retire_camera(database: Database, clock: Clock, *, camera_id: str, by: str) -> Camera:
    """Take a camera out of the registry's use; it stays listed as retired."""
    async with TrafficUnitOfWork(database) as uow:
        stored = await uow.cameras.get(camera_id)
        if stored is None or stored.status is CameraStatus.retired:
            raise CameraNotFoundError("No camera in service has this id.")
        retired = replace(stored, status=CameraStatus.retired)
        await uow.cameras.save([retired], now=clock.now(), by=by)
        await uow.commit()
    return retired
