"""Incidents' use cases: report, confirm, dispatch, clear; units and their positions.

`IncidentsPorts` is what the entry points are handed (wiring provides it as `INCIDENTS`):
the kernel's ports, the city's box, and the ports to other areas, each None until the
bridge that feeds it is wired (roads for dispatch recommendations, detectors for automatic
detection, cameras for the nearest cameras).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shahr.incidents.domain.incident import TEHRAN, CityBox
from shahr.incidents.domain.routing import GraphCache
from shahr.incidents.domain.units import STALE_AFTER_S
from shahr.incidents.gateways.roads import RoadNetwork
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.container import Part
from shahr.kernel.db import Database


@dataclass(frozen=True)
class IncidentsPorts:
    database: Database
    clock: Clock
    bus: EventBus
    box: CityBox = TEHRAN
    stale_after_s: float = STALE_AFTER_S
    roads: RoadNetwork | None = None
    # detector_feed.DetectorFeed, cameras.CameraDirectory: typed loosely here so this module
    # does not wait on the helpers writing those Protocols.
    detectors: Any = None
    cameras: Any = None
    # The routing graph of the last road snapshot, rebuilt only when the network changes.
    graphs: GraphCache = field(default_factory=GraphCache)


INCIDENTS: Part[IncidentsPorts] = Part("incidents.ports")

__all__ = ["INCIDENTS", "IncidentsPorts"]
