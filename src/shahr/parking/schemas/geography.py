"""Map layers as GeoJSON (RFC 7946) FeatureCollections, coordinates in [lon, lat] order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field

from shahr.parking.domain import (
    District,
    MetroStation,
)

# The metro data set's licence asks that every use name it (ODbL 1.0, section 4.3).


METRO_ATTRIBUTION = (
    "Metro stations: tehran-metro-data by Mostafa Kheibary"
    " (github.com/mostafa-kheibary/tehran-metro-data), ODbL 1.0"
)
METRO_LICENSE_URL = "https://opendatacommons.org/licenses/odbl/1-0/"


class PointGeometry(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: tuple[float, float] = Field(description="[lon, lat], WGS84")


class DistrictProperties(BaseModel):
    district: int = Field(description="The municipal district's number (منطقه)")
    name_fa: str
    name_en: str
    approximate: bool = Field(
        description="True for the demo city's outline drawn around a centroid, not an official one"
    )
    source: str = Field(description="Where the outline comes from")


class DistrictFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any] = Field(description="A GeoJSON Polygon or MultiPolygon")
    properties: DistrictProperties


class DistrictCollection(BaseModel):
    """Tehran's municipal districts as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[DistrictFeature]

    @classmethod
    def of(cls, districts: Sequence[District]) -> DistrictCollection:
        return cls(
            features=[
                DistrictFeature(
                    id=d.number,
                    geometry=d.geometry,
                    properties=DistrictProperties(
                        district=d.number,
                        name_fa=d.name_fa,
                        name_en=d.name_en,
                        approximate=d.approximate,
                        source=d.source,
                    ),
                )
                for d in districts
            ]
        )


class MetroStationProperties(BaseModel):
    name_fa: str
    name_en: str
    lines: list[int] = Field(description="The metro lines that stop here; several at interchanges")


class MetroStationFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: PointGeometry
    properties: MetroStationProperties


class MetroStationCollection(BaseModel):
    """Metro stations as a GeoJSON FeatureCollection carrying the data set's attribution."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    # RFC 7946 section 6.1 allows foreign members; maps show this next to the layer.
    attribution: str = METRO_ATTRIBUTION
    license: str = METRO_LICENSE_URL
    features: list[MetroStationFeature]

    @classmethod
    def of(cls, stations: Sequence[MetroStation]) -> MetroStationCollection:
        return cls(
            features=[
                MetroStationFeature(
                    geometry=PointGeometry(coordinates=(s.lon, s.lat)),
                    properties=MetroStationProperties(
                        name_fa=s.name_fa, name_en=s.name_en, lines=list(s.lines)
                    ),
                )
                for s in stations
            ]
        )
