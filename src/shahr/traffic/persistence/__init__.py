"""Traffic's tables, repositories and unit of work (tables are prefixed `traffic_`)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from shahr.kernel.db import UnitOfWork, UtcDateTime
from shahr.traffic.persistence.base import aware
from shahr.traffic.persistence.detectors import DetectorRepository, DetectorRow
from shahr.traffic.persistence.indices import (
    AreaDayRow,
    AreaHourRow,
    HistoryRepository,
    JobMarkRow,
    SegmentHourRow,
)
from shahr.traffic.persistence.inventory import (
    CameraRepository,
    CameraRow,
    DetectorChangeRepository,
    DetectorChangeRow,
)
from shahr.traffic.persistence.network import NetworkRepository, RegistryVersionRow, SegmentRow
from shahr.traffic.persistence.readings import (
    DetectorIntervalRow,
    JourneyRow,
    PassageRow,
    ReadingRepository,
    ReadingRow,
)
from shahr.traffic.persistence.state import SegmentStateRow, StateRepository, StateVersionRow


class TrafficUnitOfWork(UnitOfWork):
    """The traffic tables in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.network = NetworkRepository(self.session)
        self.detectors = DetectorRepository(self.session)
        self.readings = ReadingRepository(self.session)
        self.states = StateRepository(self.session)
        self.history = HistoryRepository(self.session)
        self.changes = DetectorChangeRepository(self.session)
        self.cameras = CameraRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Rows read here stay readable after the block: detach them before the rollback
        # that would expire them.
        self.session.expunge_all()
        await super().__aexit__(exc_type, exc, traceback)


__all__ = [
    "AreaDayRow",
    "AreaHourRow",
    "CameraRepository",
    "CameraRow",
    "DetectorChangeRepository",
    "DetectorChangeRow",
    "DetectorIntervalRow",
    "DetectorRepository",
    "DetectorRow",
    "HistoryRepository",
    "JobMarkRow",
    "JourneyRow",
    "NetworkRepository",
    "PassageRow",
    "ReadingRepository",
    "ReadingRow",
    "RegistryVersionRow",
    "SegmentHourRow",
    "SegmentRow",
    "SegmentStateRow",
    "StateRepository",
    "StateVersionRow",
    "TrafficUnitOfWork",
    "UtcDateTime",
    "aware",
]
