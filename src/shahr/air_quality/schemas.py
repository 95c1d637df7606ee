"""Air quality's API models: GeoJSON (RFC 7946) FeatureCollections in [lon, lat] order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from shahr.air_quality.queries import StationView


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[lon, lat], WGS84")


class StationProperties(BaseModel):
    id: int
    name_fa: str
    district: int | None = Field(description="The municipal district (منطقه), when known")


class StationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: PointGeometry
    properties: StationProperties


class StationCollection(BaseModel):
    """Air-quality monitoring stations as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[StationFeature]

    @classmethod
    def of(cls, stations: Sequence[StationView]) -> StationCollection:
        return cls(
            features=[
                StationFeature(
                    id=s.id,
                    geometry=PointGeometry(coordinates=(s.lon, s.lat)),
                    properties=StationProperties(id=s.id, name_fa=s.name_fa, district=s.district),
                )
                for s in stations
            ]
        )
