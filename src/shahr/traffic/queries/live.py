"""The city-wide state, cached per process: GeoJSON and a compact form, rebuilt on change.

Requests within `check_every_s` of each other share one version check (two small
queries); a changed version rebuilds once, and every request after it is served the same
bytes with the same ETag. Geometry fragments are rendered once per registry version.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass

from shahr.kernel.db import Database
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.state import StateSnapshot, state_snapshot
from shahr.traffic.services.registry import Registry, current_registry


@dataclass(frozen=True)
class Rendered:
    etag: str
    body: bytes


@dataclass(frozen=True)
class LiveView:
    version: str
    snapshot: StateSnapshot
    geojson: Rendered
    compact: Rendered


def _etag(version: str, kind: str) -> str:
    return '"' + hashlib.sha256(f"{kind}:{version}".encode()).hexdigest()[:24] + '"'


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class LiveStates:
    """One per process (kept on the app's state): what the live map and its API serve."""

    def __init__(self, database: Database, *, check_every_s: float = 1.0) -> None:
        self._database = database
        self._check_every_s = check_every_s
        self._checked_at = -1e9
        self._version: str | None = None
        self._view: LiveView | None = None
        self._fragments: tuple[int, dict[str, str]] | None = None
        self._lock = asyncio.Lock()

    async def _current_version(self) -> str:
        registry = await current_registry(self._database)
        async with TrafficUnitOfWork(self._database) as uow:
            updated = await uow.states.last_update()
        stamp = updated.timestamp() if updated else 0.0
        return f"{registry.version}-{stamp:.6f}"

    async def view(self) -> LiveView:
        """The latest view, rebuilt only when the registry or the states moved."""
        async with self._lock:
            now = time.monotonic()
            if self._view is None or now - self._checked_at >= self._check_every_s:
                version = await self._current_version()
                self._checked_at = now
                if self._view is None or version != self._version:
                    self._view = await self._build(version)
                    self._version = version
            return self._view

    def invalidate(self) -> None:
        self._checked_at = -1e9

    async def _build(self, version: str) -> LiveView:
        snapshot = await state_snapshot(self._database)
        fragments = self._geometry(snapshot.registry)
        states = {s.segment_id: s for s in snapshot.states}
        features = []
        for segment in snapshot.registry.segments:
            state = states.get(segment.id)
            live = (
                _dumps(
                    {
                        "los": state.los,
                        "speed_kmh": round(state.speed_kmh, 1),
                        "flow_veh_h": round(state.flow_veh_h),
                        "vc_ratio": round(state.vc_ratio, 3),
                        "congestion_level": state.congestion_level,
                        "confidence": state.confidence,
                        "estimated": state.estimated,
                    }
                )[1:-1]
                if state
                else '"los":null'
            )
            features.append(fragments[segment.id] + live + "}}")
        interval = snapshot.interval_start.isoformat() if snapshot.interval_start else None
        geojson = (
            '{"type":"FeatureCollection","interval_start":'
            + _dumps(interval)
            + ',"features":['
            + ",".join(features)
            + "]}"
        ).encode()
        compact = _dumps(
            {
                "interval_start": interval,
                "states": {
                    s.segment_id: [
                        s.los,
                        round(s.speed_kmh, 1),
                        round(s.flow_veh_h),
                        int(s.estimated),
                    ]
                    for s in snapshot.states
                },
            }
        ).encode()
        return LiveView(
            version=version,
            snapshot=snapshot,
            geojson=Rendered(_etag(version, "geojson"), geojson),
            compact=Rendered(_etag(version, "compact"), compact),
        )

    def _geometry(self, registry: Registry) -> dict[str, str]:
        if self._fragments is not None and self._fragments[0] == registry.version:
            return self._fragments[1]
        fragments: dict[str, str] = {}
        for segment in registry.segments:
            geometry = _dumps(
                {"type": "LineString", "coordinates": [[p.lon, p.lat] for p in segment.geometry]}
            )
            static = _dumps(
                {
                    "id": segment.id,
                    "name": segment.name,
                    "road_class": segment.road_class.value,
                    "lanes": segment.lanes,
                    "free_flow_kmh": segment.free_flow_kmh,
                    "district": segment.district,
                }
            )[1:-1]
            fragments[segment.id] = (
                '{"type":"Feature","id":'
                + _dumps(segment.id)
                + ',"geometry":'
                + geometry
                + ',"properties":{'
                + static
                + ","
            )
        self._fragments = (registry.version, fragments)
        return fragments
