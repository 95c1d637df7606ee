"""Incidents' tables (prefixed `incidents_`): incidents, their audit trail and segments,
units with their status history and positions, and dispatch assignments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime

# Rows that grow without bound; SQLite only auto-increments an INTEGER key.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class IncidentRow(Base):
    __tablename__ = "incidents_incident"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), index=True)
    segment_id: Mapped[str | None] = mapped_column(String(200), index=True)
    offset_m: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    bearing_deg: Mapped[float | None] = mapped_column(Float)
    lanes: Mapped[list[str]] = mapped_column(JSON)  # per lane, 0 = kerb lane
    camera_id: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    detected_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lanes_reopened_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    normal_flow_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Bumped by every change; a change is written only over the version it was decided on.
    version: Mapped[int] = mapped_column(Integer)


class AuditRow(Base):
    """One accepted change of an incident: who, when, what (the changed fields)."""

    __tablename__ = "incidents_audit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents_incident.id"), index=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))  # the incident's status after the change
    change: Mapped[dict[str, Any]] = mapped_column(JSON)


class IncidentSegmentRow(Base):
    """A segment an incident affects: where it is, and the segments queueing behind it."""

    __tablename__ = "incidents_incident_segment"

    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents_incident.id"), primary_key=True
    )
    segment_id: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(12))  # "at", "upstream"


class UnitRow(Base):
    __tablename__ = "incidents_unit"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    crew: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    incident_id: Mapped[str | None] = mapped_column(String(36))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Two dispatchers who both saw version v: only one UPDATE ... WHERE version = v succeeds.
    version: Mapped[int] = mapped_column(Integer)


class UnitStatusRow(Base):
    __tablename__ = "incidents_unit_status"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(36), ForeignKey("incidents_unit.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(String(120))
    incident_id: Mapped[str | None] = mapped_column(String(36))


class UnitPositionRow(Base):
    __tablename__ = "incidents_unit_position"
    __table_args__ = (Index("ix_incidents_unit_position_unit_at", "unit_id", "reported_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    unit_id: Mapped[str] = mapped_column(String(36), ForeignKey("incidents_unit.id"))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DispatchRow(Base):
    """A unit assigned to an incident, from assignment until it leaves or is recalled."""

    __tablename__ = "incidents_dispatch"
    __table_args__ = (
        # A unit is on one incident at a time, whatever races the services lose.
        Index(
            "ix_incidents_dispatch_one_live_per_unit",
            "unit_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("incidents_incident.id"), index=True
    )
    unit_id: Mapped[str] = mapped_column(String(36), ForeignKey("incidents_unit.id"))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    assigned_by: Mapped[str] = mapped_column(String(120))
    accepted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    arrived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(12))  # cleared, recalled
