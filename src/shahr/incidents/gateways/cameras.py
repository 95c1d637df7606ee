"""The port to the camera registry: the cameras nearest an incident, to verify it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class NearCamera:
    camera_id: str
    name: str  # in the caller's language where the registry has it, else Persian
    lon: float
    lat: float
    distance_m: float
    view_bearing_deg: float | None
    stream_url: str | None  # rtsp:// (video wall) or an HLS .m3u8 a browser can play
    snapshot_url: str | None
    public: bool
    status: str  # active | faulty (retired cameras are never proposed)


class CameraDirectory(Protocol):
    async def nearest(
        self, lon: float, lat: float, *, limit: int = 3, within_m: float = 1500
    ) -> Sequence[NearCamera]: ...


class FakeCameraDirectory:
    """Cameras given up front, for tests: nearest by straight-line distance."""

    def __init__(self, cameras: Sequence[NearCamera] = ()) -> None:
        self.cameras = list(cameras)

    async def nearest(
        self, lon: float, lat: float, *, limit: int = 3, within_m: float = 1500
    ) -> Sequence[NearCamera]:
        from shahr.kernel.geo import LonLat, haversine_m

        here = LonLat(lon, lat)
        measured = sorted(
            (haversine_m(here, LonLat(c.lon, c.lat)), c.camera_id, c) for c in self.cameras
        )
        return [
            NearCamera(**{**c.__dict__, "distance_m": d}) for d, _, c in measured if d <= within_m
        ][:limit]
