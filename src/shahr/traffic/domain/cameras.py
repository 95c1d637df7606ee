"""The camera registry: the city's traffic cameras an operator looks through.

Not the plate or counting cameras that feed ingest (those are detectors): these are the
command centre's eyes, each with where it stands, which way it looks, where its live
stream and its snapshot are, and whether the public may see it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from shahr.kernel.persian import normalise
from shahr.traffic.domain.errors import InvalidCameraError
from shahr.traffic.domain.network import MAX_ID_LENGTH

MAX_NAME_LENGTH = 200
MAX_URL_LENGTH = 500
# Iran's extent: a camera outside it is a swapped lon/lat or a typo.
IRAN_BOUNDS = (44.0, 25.0, 63.5, 40.0)
STREAM_SCHEMES = frozenset({"rtsp", "rtsps"})
WEB_SCHEMES = frozenset({"http", "https"})


class CameraStatus(StrEnum):
    active = "active"
    faulty = "faulty"
    retired = "retired"


class StreamKind(StrEnum):
    rtsp = "rtsp"  # for the operators' video wall; browsers cannot play it
    hls = "hls"  # an .m3u8 playlist a browser can play


@dataclass(frozen=True)
class Camera:
    id: str
    name_fa: str
    name_en: str
    lon: float
    lat: float
    view_bearing_deg: float | None
    segment_id: str | None  # the segment it stands by, snapped when registered
    stream_url: str | None
    snapshot_url: str | None
    status: CameraStatus
    public: bool

    @property
    def stream_kind(self) -> StreamKind | None:
        return stream_kind_of(self.stream_url) if self.stream_url else None


def stream_kind_of(url: str) -> StreamKind | None:
    """An RTSP address, or an HLS playlist over http(s); None for anything else."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    if parts.scheme in STREAM_SCHEMES:
        return StreamKind.rtsp
    if parts.scheme in WEB_SCHEMES and parts.path.lower().endswith(".m3u8"):
        return StreamKind.hls
    return None


def _url(value: Any) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _float(fields: Mapping[str, Any], name: str, camera: str) -> float | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not math.isfinite(number):
        raise InvalidCameraError(
            "Camera {camera}: the {column} column holds «{value}», not a number.",
            field=name,
            camera=camera,
            column=name,
            value=str(value)[:40],
        )
    return number


def _flag(value: Any, camera: str) -> bool:
    if isinstance(value, bool):
        return value
    text = "" if value is None else str(value).strip().lower()
    if text in {"", "0", "false", "no", "restricted"}:
        return False
    if text in {"1", "true", "yes", "public"}:
        return True
    raise InvalidCameraError(
        "Camera {camera}: public must be true or false.", field="public", camera=camera
    )


def _check_id(camera_id: str) -> None:
    if (
        not camera_id
        or len(camera_id) > MAX_ID_LENGTH
        or not camera_id.replace("-", "").replace("_", "").isalnum()
        or not camera_id.isascii()
    ):
        raise InvalidCameraError(
            "A camera id must be 1 to {limit} letters, digits, - or _.",
            field="id",
            limit=MAX_ID_LENGTH,
        )


def _check_urls(camera_id: str, stream_url: str | None, snapshot_url: str | None) -> None:
    if stream_url is not None and (
        len(stream_url) > MAX_URL_LENGTH or stream_kind_of(stream_url) is None
    ):
        raise InvalidCameraError(
            "Camera {camera}: the live stream must be an rtsp:// address or an HLS playlist"
            " (http(s)://…/….m3u8).",
            field="stream_url",
            camera=camera_id,
        )
    if snapshot_url is not None:
        parts = urlsplit(snapshot_url)
        if (
            len(snapshot_url) > MAX_URL_LENGTH
            or parts.scheme not in WEB_SCHEMES
            or not parts.hostname
        ):
            raise InvalidCameraError(
                "Camera {camera}: the snapshot must be an http(s):// address.",
                field="snapshot_url",
                camera=camera_id,
            )


def camera_from_fields(fields: Mapping[str, Any]) -> Camera:
    """A camera from a file row or a form (strings or values); refuses what cannot be one."""
    camera_id = str(fields.get("id") or "").strip()
    _check_id(camera_id)
    name_fa = normalise(str(fields.get("name_fa") or "")).strip()
    name_en = str(fields.get("name_en") or "").strip()
    if not name_fa or len(name_fa) > MAX_NAME_LENGTH or len(name_en) > MAX_NAME_LENGTH:
        raise InvalidCameraError(
            "Camera {camera} needs a Persian name of at most {limit} characters.",
            field="name_fa",
            camera=camera_id,
            limit=MAX_NAME_LENGTH,
        )
    lon, lat = _float(fields, "lon", camera_id), _float(fields, "lat", camera_id)
    min_lon, min_lat, max_lon, max_lat = IRAN_BOUNDS
    if lon is None or lat is None or not (min_lon <= lon <= max_lon and min_lat <= lat <= max_lat):
        raise InvalidCameraError(
            "Camera {camera} needs a lon and lat inside the city.", field="lon", camera=camera_id
        )
    bearing = _float(fields, "view_bearing_deg", camera_id)
    if bearing is not None and not 0 <= bearing < 360:
        raise InvalidCameraError(
            "Camera {camera}: the view bearing is in degrees from north, 0 to 359.",
            field="view_bearing_deg",
            camera=camera_id,
        )
    stream_url, snapshot_url = _url(fields.get("stream_url")), _url(fields.get("snapshot_url"))
    _check_urls(camera_id, stream_url, snapshot_url)
    raw_status = str(fields.get("status") or CameraStatus.active.value).strip()
    try:
        status = CameraStatus(raw_status)
    except ValueError:
        raise InvalidCameraError(
            "Camera {camera}: the status must be active, faulty or retired.",
            field="status",
            camera=camera_id,
        ) from None
    return Camera(
        id=camera_id,
        name_fa=name_fa,
        name_en=name_en,
        lon=lon,
        lat=lat,
        view_bearing_deg=bearing,
        segment_id=None,
        stream_url=stream_url,
        snapshot_url=snapshot_url,
        status=status,
        public=_flag(fields.get("public"), camera_id),
    )
