"""The tables of raw readings and passages (de-duplicated by key), journeys, and per-interval
detector sums."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shahr.kernel.db import Base, UtcDateTime

SUMS_FILLFACTOR = 50


class ReadingRow(Base):
    """One detector reading as received; the key is what makes a repeat a duplicate."""

    __tablename__ = "traffic_reading"
    # Only `prune` reads by observed_at, and rows arrive in about that order: a BRIN index
    # (a few pages, touched once per range of pages) instead of a B-tree entry per row.
    __table_args__ = (
        Index("ix_traffic_reading_observed_at", "observed_at", postgresql_using="brin"),
    )

    detector_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    period_s: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    occupancy_pct: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DetectorIntervalRow(Base):
    """A detector's sums over one interval (see `domain.state.DetectorIntervalSums`)."""

    __tablename__ = "traffic_detector_interval"
    # A row is inserted by one batch and its sums updated by the next (lanes report 30 s
    # apart): half of each page is left free so that the update stays on the page, with
    # no new index entries (a HOT update; no indexed column changes). Only the health
    # check (the last hours) and the prune read by interval, and rows arrive in about
    # that order: a BRIN index, not a B-tree entry per row.
    __table_args__ = (
        Index("ix_traffic_detector_interval_start", "interval_start", postgresql_using="brin"),
        {"postgresql_with": {"fillfactor": SUMS_FILLFACTOR}},
    )

    detector_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    interval_start: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    readings: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    period_s: Mapped[float] = mapped_column(Float)
    occupancy_s: Mapped[float] = mapped_column(Float)
    speed_count: Mapped[float] = mapped_column(Float)
    inv_speed: Mapped[float] = mapped_column(Float)


class PassageRow(Base):
    """A plate camera's sighting; the plate itself is never stored, only a daily keyed hash."""

    __tablename__ = "traffic_passage"
    __table_args__ = (Index("ix_traffic_passage_plate", "plate_key", "observed_at"),)

    camera_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    plate_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    lane: Mapped[int | None] = mapped_column(Integer)


class JourneyRow(Base):
    """One plate seen at two cameras: a journey time between them."""

    __tablename__ = "traffic_journey"
    __table_args__ = (Index("ix_traffic_journey_pair", "from_camera", "to_camera", "arrived_at"),)

    to_camera: Mapped[str] = mapped_column(String(120), primary_key=True)
    plate_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    from_camera: Mapped[str] = mapped_column(String(120))
    departed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    travel_time_s: Mapped[float] = mapped_column(Float)
