"""Parking's JSON API: map layers, search and meters, quotes and reservations, FIWARE exports.

One `router` holds every route (bootstrap includes it); `ERROR_STATUS` is the area's
error map.
"""

from fastapi import APIRouter

from shahr.parking.api import maps, ngsi, reservations, search
from shahr.parking.api.deps import PortsDep, citizen_id
from shahr.parking.api.errors import ERROR_STATUS, SearchAreaError

# Each part carries the area's prefix itself: a route's own path is then its whole path,
# which the route-guard walk (tests/test_access_walk.py) reads.
router = APIRouter()
for part in (maps, search, reservations, ngsi):
    router.include_router(part.router)

__all__ = ["ERROR_STATUS", "PortsDep", "SearchAreaError", "citizen_id", "router"]
