"""The places API's answers, named in the language of the request."""

from __future__ import annotations

from pydantic import BaseModel, Field

from shahr.kernel.web import i18n
from shahr.maps.domain import Found, Match, Place, PlaceKind

_KIND_LABELS = {
    PlaceKind.district: "Municipal district",
    PlaceKind.metro_station: "Metro station",
    PlaceKind.zone: "Parking zone",
    PlaceKind.street: "Street",
}


def _detail(place: Place) -> str:
    parts = [i18n.gettext(_KIND_LABELS[place.kind])]
    if place.metro_lines:
        comma = "، " if i18n.current_language.get() == "fa" else ", "
        parts.append(comma.join(i18n.gettext("Line {number}", number=n) for n in place.metro_lines))
    if place.district is not None and place.kind is not PlaceKind.district:
        parts.append(i18n.gettext("District {number}", number=place.district))
    return " · ".join(parts)


class PlaceOut(BaseModel):
    """A place found: its name in the request's language, a point and the box to show."""

    kind: PlaceKind
    name: str = Field(description="The name in the request's language")
    name_fa: str
    name_en: str
    detail: str = Field(description="What the place is and where, in the request's language")
    lon: float
    lat: float
    bbox: list[float] | None = Field(
        default=None, description="min_lon,min_lat,max_lon,max_lat for places bigger than a point"
    )
    district: int | None = None
    metro_lines: list[int] = []
    match: Match

    @classmethod
    def of(cls, found: Found) -> PlaceOut:
        place = found.place
        english = i18n.current_language.get() == "en"
        return cls(
            kind=place.kind,
            name=(place.name_en or place.name_fa) if english else place.name_fa,
            name_fa=place.name_fa,
            name_en=place.name_en,
            detail=_detail(place),
            lon=round(place.lon, 6),
            lat=round(place.lat, 6),
            bbox=[round(v, 6) for v in place.bbox] if place.bbox else None,
            district=place.district,
            metro_lines=list(place.metro_lines),
            match=found.match,
        )


class PlaceList(BaseModel):
    query: str
    places: list[PlaceOut]
