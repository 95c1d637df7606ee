"""The detector-health layer for operators: how many detectors work, and which do not, why
and since when, one page at a time."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from shahr.kernel.db import Database
from shahr.traffic.domain.detectors import Detector, DetectorHealth
from shahr.traffic.queries.registry import current_registry

# Unhealthy detectors on one page of the list.
DETECTORS_PER_PAGE = 25
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class UnhealthyDetector:
    detector: Detector
    street: str
    district: int | None


@dataclass(frozen=True)
class DetectorHealthBoard:
    counts: dict[DetectorHealth, int]
    unhealthy: list[UnhealthyDetector]
    total: int
    page: int
    pages: int


async def detector_health_board(
    database: Database,
    *,
    health: DetectorHealth | None = None,
    page: int = 1,
    per_page: int = DETECTORS_PER_PAGE,
) -> DetectorHealthBoard:
    """Detectors by health, and the failed or silent ones (or only `health`), longest first."""
    registry = await current_registry(database)
    counts = dict.fromkeys(DetectorHealth, 0)
    for detector in registry.detectors:
        counts[detector.health] += 1
    wanted = (
        {health}
        if health not in (None, DetectorHealth.ok)
        else set(DetectorHealth) - {DetectorHealth.ok}
    )
    unhealthy = sorted(
        (d for d in registry.detectors if d.health in wanted),
        key=lambda d: (d.health_since or _LONG_AGO, d.id),
    )
    pages = max(1, math.ceil(len(unhealthy) / per_page))
    page = min(page, pages)
    shown = unhealthy[(page - 1) * per_page : page * per_page]
    lines = []
    for detector in shown:
        segment = registry.segments[registry.segment_index[detector.segment_id]]
        lines.append(UnhealthyDetector(detector, segment.name, segment.district))
    return DetectorHealthBoard(
        counts=counts, unhealthy=lines, total=len(unhealthy), page=page, pages=pages
    )
