"""Maps' pure rules: the place index and the base layer's geometry."""

from shahr.maps.domain.base_layer import (
    DistrictOutline,
    Road,
    Station,
    base_layer,
    line_tree,
    street_line,
)
from shahr.maps.domain.places import (
    MAX_QUERY_CHARS,
    Found,
    Match,
    Place,
    PlaceIndex,
    PlaceKind,
    PlaceQueryError,
    checked_query,
    search_words,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "DistrictOutline",
    "Found",
    "Match",
    "Place",
    "PlaceIndex",
    "PlaceKind",
    "PlaceQueryError",
    "Road",
    "Station",
    "base_layer",
    "checked_query",
    "line_tree",
    "search_words",
    "street_line",
]
