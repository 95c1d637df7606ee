"""Incidents' ports on traffic's read side: the roads at their speeds, the cameras, the loops."""

from __future__ import annotations

import itertools
from datetime import datetime

from shahr.incidents.gateways import detector_feed as incidents_feed
from shahr.incidents.gateways.cameras import NearCamera
from shahr.incidents.gateways.roads import RoadLink, RoadSnapshot
from shahr.kernel.container import Container
from shahr.kernel.db import Database
from shahr.kernel.web import i18n
from shahr.traffic import queries as traffic_queries
from shahr.traffic.queries import cameras as traffic_camera_queries
from shahr.traffic.queries.live import LIVE_STATES


class RoadsForIncidents:
    """Incidents' road network on traffic's read side: the segments at the live state's speeds.

    The live map's cached state is used when traffic is wired (one version check, no rebuild
    unless the city changed); a segment without a state goes at its free-flow speed. The
    links are built once per state version.
    """

    def __init__(self, container: Container) -> None:
        self._container = container
        self._last: RoadSnapshot | None = None

    async def snapshot(self) -> RoadSnapshot:
        live = self._container.find(LIVE_STATES)
        states = (
            (await live.view()).snapshot
            if live is not None
            else await traffic_queries.state_snapshot(self._container.database)
        )
        if self._last is not None and self._last.version == states.version:
            return self._last
        speeds = {s.segment_id: s.speed_kmh for s in states.states}
        links = tuple(
            RoadLink(
                segment_id=segment.id,
                from_node=segment.from_node,
                to_node=segment.to_node,
                length_m=segment.length_m,
                speed_kmh=speeds.get(segment.id, segment.free_flow_kmh),
                free_flow_kmh=segment.free_flow_kmh,
                name=segment.name,
                geometry=tuple((p.lon, p.lat) for p in segment.geometry),
            )
            for segment in states.registry.segments
        )
        self._last = RoadSnapshot(
            version=states.version, links=links, network_version=str(states.registry.version)
        )
        return self._last


class CamerasForIncidents:
    """The camera registry, for incidents: the cameras in service nearest a place."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def nearest(
        self, lon: float, lat: float, *, limit: int = 3, within_m: float = 1500
    ) -> list[NearCamera]:
        found = await traffic_camera_queries.nearest_cameras(
            self.database, lon, lat, limit=limit, within_m=within_m
        )
        english = i18n.current_language.get() == "en"
        return [
            NearCamera(
                camera_id=near.camera.id,
                name=near.camera.name_en
                if english and near.camera.name_en
                else near.camera.name_fa,
                lon=near.camera.lon,
                lat=near.camera.lat,
                distance_m=near.distance_m,
                view_bearing_deg=near.camera.view_bearing_deg,
                stream_url=near.camera.stream_url,
                snapshot_url=near.camera.snapshot_url,
                public=near.camera.public,
                status=near.camera.status.value,
            )
            for near in found
        ]


class DetectorFeedForIncidents:
    """Incidents' detector feed: traffic's per-detector interval sums (the read side the
    state is built from) and its registry, as plain minutes and station pairs."""

    def __init__(self, container: Container) -> None:
        self._container = container

    async def station_minutes(
        self, since: datetime, until: datetime
    ) -> list[incidents_feed.StationMinute]:
        from shahr.traffic.persistence import TrafficUnitOfWork
        from shahr.traffic.queries.registry import current_registry

        database = self._container.database
        registry = await current_registry(database)
        async with TrafficUnitOfWork(database) as uow:
            rows = await uow.readings.sums_between(since, until)
        minutes = []
        for row in rows:
            detector = registry.detector(row.detector_id)
            if detector is None or not detector.counts or row.period_s <= 0:
                continue
            minutes.append(
                incidents_feed.StationMinute(
                    detector_id=row.detector_id,
                    segment_id=detector.segment_id,
                    lane=detector.lane,
                    interval_start=row.interval_start,
                    # occupancy_s is Σ occupancy % x period over the interval's readings.
                    occupancy=min(row.occupancy_s / row.period_s / 100.0, 1.0),
                    flow_veh_h=row.count * 3600.0 / row.period_s,
                    speed_kmh=row.speed_count / row.inv_speed if row.inv_speed > 0 else None,
                )
            )
        return minutes

    async def station_pairs(self) -> list[incidents_feed.StationPair]:
        """Each loop and the next one downstream: the next station on its segment, else the
        first on the segment straight on; the same lane there when it has one."""
        from shahr.incidents.domain.detection.pairs import SegmentShape, straight_on
        from shahr.traffic.queries.indices import detector_position
        from shahr.traffic.queries.registry import current_registry

        registry = await current_registry(self._container.database)
        successor = straight_on(
            [
                SegmentShape(
                    s.id, s.from_node, s.to_node, tuple((p.lon, p.lat) for p in s.geometry)
                )
                for s in registry.segments
            ]
        )
        stations: dict[str, dict[float, list[tuple[int | None, str]]]] = {}
        for detector in registry.detectors:
            if detector.counts:
                at = detector.position_m if detector.position_m is not None else -1.0
                stations.setdefault(detector.segment_id, {}).setdefault(at, []).append(
                    (detector.lane, detector.id)
                )
        pairs = []
        for segment_id, by_place in stations.items():
            places = [by_place[at] for at in sorted(by_place)]
            after = stations.get(successor.get(segment_id, ""), {})
            if after:
                places.append(after[min(after)])
            for upstream, downstream in itertools.pairwise(places):
                lanes = dict(downstream)
                for lane, detector_id in upstream:
                    position = detector_position(registry, detector_id)
                    pairs.append(
                        incidents_feed.StationPair(
                            upstream_detector_id=detector_id,
                            downstream_detector_id=lanes.get(lane, downstream[0][1]),
                            segment_id=segment_id,
                            lon=position.lon if position else 0.0,
                            lat=position.lat if position else 0.0,
                        )
                    )
        return pairs
