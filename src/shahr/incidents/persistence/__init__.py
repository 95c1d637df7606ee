"""Incidents' tables, repositories and unit of work (tables are prefixed `incidents_`)."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from shahr.incidents.persistence.incidents import IncidentRepository, incident_of
from shahr.incidents.persistence.tables import (
    AuditRow,
    DispatchRow,
    IncidentRow,
    IncidentSegmentRow,
    UnitPositionRow,
    UnitRow,
    UnitStatusRow,
)
from shahr.incidents.persistence.units import UnitRepository, unit_of
from shahr.kernel.db import UnitOfWork


class IncidentsUnitOfWork(UnitOfWork):
    """The incidents tables in one transaction."""

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.incidents = IncidentRepository(self.session)
        self.units = UnitRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.session.expunge_all()
        await super().__aexit__(exc_type, exc, traceback)


__all__ = [
    "AuditRow",
    "DispatchRow",
    "IncidentRepository",
    "IncidentRow",
    "IncidentSegmentRow",
    "IncidentsUnitOfWork",
    "UnitPositionRow",
    "UnitRepository",
    "UnitRow",
    "UnitStatusRow",
    "incident_of",
    "unit_of",
]
