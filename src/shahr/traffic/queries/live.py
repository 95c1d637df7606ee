"""The city-wide state, cached per process: GeoJSON and a compact form, rebuilt on change.

Requests within `check_every_s` of each other share one version check (two small
queries); a changed version rebuilds once, and every request after it is served the same
bytes with the same ETag. Geometry fragments are rendered once per registry version.

The check runs every half second, so a committed state reaches the live map's
Server-Sent Events within about that plus one rebuild (docs/traffic-feeds.md: 2 s target).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from shahr.kernel.container import Part
from shahr.kernel.db import Database
from shahr.traffic.persistence import TrafficUnitOfWork
from shahr.traffic.queries.registry import Registry, current_registry
from shahr.traffic.queries.state import StateSnapshot, state_snapshot


@dataclass(frozen=True)
class Rendered:
    etag: str
    body: bytes


CHECK_EVERY_S = 0.5


class LiveView:
    """The city at one version: the compact state (what SSE pushes) and, rendered on first
    use, the GeoJSON (what `/segments` serves), so a change costs only what is asked for."""

    def __init__(
        self,
        version: str,
        snapshot: StateSnapshot,
        compact: Rendered,
        checked_at: float,
        geojson: Callable[[], Rendered],
    ) -> None:
        self.version = version
        self.snapshot = snapshot
        self.compact = compact
        self.checked_at = checked_at  # wall-clock start of the version check: every earlier
        # commit is in this view
        self._render_geojson = geojson
        self._geojson: Rendered | None = None

    @property
    def geojson(self) -> Rendered:
        if self._geojson is None:
            self._geojson = self._render_geojson()
        return self._geojson


def _etag(version: str, kind: str) -> str:
    return '"' + hashlib.sha256(f"{kind}:{version}".encode()).hexdigest()[:24] + '"'


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class LiveStates:
    """One per process (wired as `LIVE_STATES`): what the live map and its API serve."""

    def __init__(self, database: Database, *, check_every_s: float = CHECK_EVERY_S) -> None:
        self._database = database
        self._check_every_s = check_every_s
        self._checked_at = -1e9
        self._version: str | None = None
        self._view: LiveView | None = None
        self._fragments: tuple[int, dict[str, str]] | None = None
        self._ids: tuple[int, dict[str, str]] | None = None
        self._checking: asyncio.Task[None] | None = None

    async def _current_version(self) -> str:
        registry = await current_registry(self._database)
        async with TrafficUnitOfWork(self._database) as uow:
            updated = await uow.states.last_update()
        stamp = updated.timestamp() if updated else 0.0
        return f"{registry.version}-{stamp:.6f}"

    async def view(self) -> LiveView:
        """The latest view, rebuilt only when the registry or the states moved."""
        if self._view is None or time.monotonic() - self._checked_at >= self._check_every_s:
            if self._checking is None:
                self._checking = asyncio.create_task(self._check(), name="traffic-live-check")
                self._checking.add_done_callback(self._checked)
            # Every request waiting now shares this one check. A client that leaves mid-check
            # (a browser closing the live map cancels its stream) stops waiting here, while the
            # check runs to its end: cancelled inside, it would abandon its database session
            # half-way through a transaction.
            await asyncio.shield(self._checking)
        assert self._view is not None  # noqa: S101  # a finished check always leaves a view
        return self._view

    async def _check(self) -> None:
        started, checked_at = time.monotonic(), time.time()
        version = await self._current_version()
        self._checked_at = started
        if self._view is None or version != self._version:
            self._view = await self._build(version, checked_at)
            self._version = version

    def _checked(self, task: asyncio.Task[None]) -> None:
        self._checking = None
        # Whoever waited has seen a failure; with no one left waiting, asyncio would log it.
        if not task.cancelled():
            task.exception()

    async def changes(self) -> AsyncGenerator[LiveView | None]:
        """Every check: the view when it is new (the first one is), else None (for SSE)."""
        sent = None
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            view = await self.view()
            if view.version != sent:
                sent = view.version
                yield view
            else:
                yield None
            # Checks keep their pace however long a rebuild took.
            await asyncio.sleep(max(0.0, began + self._check_every_s - loop.time()))

    def invalidate(self) -> None:
        self._checked_at = -1e9

    async def _build(self, version: str, checked_at: float) -> LiveView:
        snapshot = await state_snapshot(self._database)
        interval = snapshot.interval_start.isoformat() if snapshot.interval_start else None
        keys = self._keys(snapshot.registry)
        # The same JSON as json.dumps of {"interval_start", "states": {id: [los, speed, flow,
        # estimated]}}, written out directly: this runs on every change of the city's state.
        states = ",".join(
            f'{keys[s.segment_id]}:["{s.los}",{round(s.speed_kmh, 1)!r},'
            f"{round(s.flow_veh_h)},{int(s.estimated)}]"
            for s in snapshot.states
        )
        compact = f'{{"interval_start":{_dumps(interval)},"states":{{{states}}}}}'.encode()
        return LiveView(
            version=version,
            snapshot=snapshot,
            compact=Rendered(_etag(version, "compact"), compact),
            checked_at=checked_at,
            geojson=lambda: Rendered(_etag(version, "geojson"), self._geojson(snapshot)),
        )

    def _geojson(self, snapshot: StateSnapshot) -> bytes:
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
        return (
            '{"type":"FeatureCollection","interval_start":'
            + _dumps(interval)
            + ',"features":['
            + ",".join(features)
            + "]}"
        ).encode()

    def _keys(self, registry: Registry) -> dict[str, str]:
        """Each segment id as a JSON string, made once per registry version."""
        if self._ids is None or self._ids[0] != registry.version:
            self._ids = (registry.version, {s.id: _dumps(s.id) for s in registry.segments})
        return self._ids[1]

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


LIVE_STATES: Part[LiveStates] = Part("traffic.live_states")
