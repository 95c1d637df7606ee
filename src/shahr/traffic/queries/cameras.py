"""The camera registry's read side: the cameras nearest a place, and the list for staff."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shahr.kernel.db import Database
from shahr.kernel.geo import LonLat
from shahr.kernel.geo.sphere import haversine_from
from shahr.traffic.domain.cameras import Camera
from shahr.traffic.persistence import TrafficUnitOfWork


@dataclass(frozen=True)
class CameraNearby:
    camera: Camera
    distance_m: float


async def cameras(database: Database, *, retired: bool = True) -> list[Camera]:
    """Every camera by id (the retired ones too, unless `retired` is False)."""
    async with TrafficUnitOfWork(database) as uow:
        return await uow.cameras.all(retired=retired)


async def camera(database: Database, camera_id: str) -> Camera | None:
    async with TrafficUnitOfWork(database) as uow:
        return await uow.cameras.get(camera_id)


async def nearest_cameras(
    database: Database,
    lon: float,
    lat: float,
    *,
    limit: int = 3,
    within_m: float = 1500.0,
    public_only: bool = False,
) -> list[CameraNearby]:
    """Up to `limit` cameras in service within `within_m` of the point, nearest first.

    One haversine over every camera's position: at Tehran's 2,800 the arithmetic is well
    under a millisecond and the read of ids and positions the rest (docs/traffic-feeds.md),
    with no spatial index to keep in step with edits.
    """
    point = LonLat(lon, lat)
    if limit < 1 or within_m < 0:
        return []
    async with TrafficUnitOfWork(database) as uow:
        positions = await uow.cameras.positions(public_only=public_only)
        if not positions:
            return []
        lons = np.array([p[1] for p in positions], dtype=np.float64)
        lats = np.array([p[2] for p in positions], dtype=np.float64)
        distances = haversine_from(point, lons, lats)
        inside = np.flatnonzero(distances <= within_m)
        order = inside[np.lexsort((inside, distances[inside]))][:limit].tolist()
        chosen = await uow.cameras.of([positions[i][0] for i in order])
    return [CameraNearby(chosen[positions[i][0]], float(distances[i])) for i in order]
