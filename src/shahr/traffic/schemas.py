"""Traffic's API models."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from shahr.traffic.domain.indices import Indices
from shahr.traffic.domain.network import Segment
from shahr.traffic.queries.indices import AreaComparison, DistrictCard, JourneyTime, ProfileCell
from shahr.traffic.queries.state import SegmentStateView

SOURCE_DESCRIPTION = (
    "What the state used, '+'-joined: loops (lane counts, and spot speeds where the loops"
    " measure them), occupancy (speed or a standstill from the loops' occupancy), signal_delay"
    " (the downstream signal's control delay added to the running time), journeys (plate-camera"
    " travel times), neighbours / upstream / downstream (estimated from nearby segments),"
    " history (this segment's usual state at this hour), free_flow (no speed could be measured:"
    " free flow assumed, e.g. an empty road or counts with neither speed nor occupancy). A"
    " measured state without 'occupancy' could not use occupancy; with 'free_flow' it could not"
    " measure speed at all."
)


class SegmentStateOut(BaseModel):
    segment_id: str
    interval_start: datetime
    flow_veh_h: float
    speed_kmh: float
    occupancy_pct: float | None
    density_veh_km: float
    vc_ratio: float
    los: str = Field(description="Level of service A-F (HCM urban streets)")
    congestion_level: int = Field(ge=0, le=5)
    confidence: float = Field(
        ge=0,
        le=1,
        description=(
            "Share of the expected detector-seconds counted, lowered for what the state could"
            " not use: no occupancy (a queue over the loop cannot be seen), no spot speeds"
            " (speed from occupancy only), or nothing on speed at all (free flow assumed)"
        ),
    )
    estimated: bool
    source: str = Field(description=SOURCE_DESCRIPTION, examples=["loops+occupancy+signal_delay"])

    @classmethod
    def of(cls, view: SegmentStateView) -> SegmentStateOut:
        return cls(**view.__dict__)


class SegmentOut(BaseModel):
    id: str
    name: str
    road_class: str
    lanes: int
    length_m: float
    free_flow_kmh: float
    capacity_veh_h: int
    capacity_overridden: bool
    district: int | None
    from_node: str
    to_node: str
    geometry: list[list[float]]
    state: SegmentStateOut | None

    @classmethod
    def of(cls, segment: Segment, state: SegmentStateView | None) -> SegmentOut:
        return cls(
            id=segment.id,
            name=segment.name,
            road_class=segment.road_class.value,
            lanes=segment.lanes,
            length_m=round(segment.length_m, 1),
            free_flow_kmh=segment.free_flow_kmh,
            capacity_veh_h=segment.capacity_veh_h,
            capacity_overridden=segment.capacity_overridden,
            district=segment.district,
            from_node=segment.from_node,
            to_node=segment.to_node,
            geometry=[[p.lon, p.lat] for p in segment.geometry],
            state=None if state is None else SegmentStateOut.of(state),
        )


class CapacityUpdate(BaseModel):
    capacity_veh_h: int | None = Field(
        description="Vehicles an hour; null goes back to the class and lane default"
    )


class IndicesOut(BaseModel):
    travel_time_index: float
    planning_time_index: float
    buffer_index: float
    congestion_pct: float = Field(description="Extra travel time over free flow (TomTom)")
    vkt: float = Field(description="Vehicle-kilometres travelled")
    mean_speed_kmh: float
    samples: int

    @classmethod
    def of(cls, found: Indices | None) -> IndicesOut | None:
        return None if found is None else cls(**found.__dict__)


class IndicesReport(BaseModel):
    scope: str
    id: str | None
    since: datetime
    until: datetime
    indices: IndicesOut | None


class ProfileCellOut(BaseModel):
    weekday: int = Field(description="Saturday = 0")
    hour: int = Field(description="Hour of the day in Tehran")
    indices: IndicesOut

    @classmethod
    def of(cls, cell: ProfileCell) -> ProfileCellOut:
        indices = IndicesOut.of(cell.indices)
        assert indices is not None  # noqa: S101  # a cell exists only with indices
        return cls(weekday=cell.weekday, hour=cell.hour, indices=indices)


class DistrictCardOut(BaseModel):
    district: int
    segments: int
    measured: int
    speed_kmh: float | None
    travel_time_index: float | None
    congestion_pct: float | None
    usual_travel_time_index: float | None
    trend: str
    last_hours: list[float | None]

    @classmethod
    def of(cls, card: DistrictCard) -> DistrictCardOut:
        return cls(**card.__dict__)


class ComparisonOut(BaseModel):
    scope: str
    id: str
    this_week: IndicesOut | None
    last_year: IndicesOut | None
    vkt_change_pct: float | None
    tti_change_pct: float | None

    @classmethod
    def of(cls, item: AreaComparison) -> ComparisonOut:
        return cls(
            scope=item.scope,
            id=item.scope_id,
            this_week=IndicesOut.of(item.this_week),
            last_year=IndicesOut.of(item.last_year),
            vkt_change_pct=item.vkt_change_pct,
            tti_change_pct=item.tti_change_pct,
        )


class ComparisonReport(BaseModel):
    week_start: date
    last_year_week_start: date
    areas: list[ComparisonOut]


class JourneyTimeOut(BaseModel):
    from_camera: str
    to_camera: str
    travel_time_s: float
    journeys: int
    distance_m: float | None
    speed_kmh: float | None

    @classmethod
    def of(cls, item: JourneyTime) -> JourneyTimeOut:
        return cls(**item.__dict__)
