"""Parking's citizen pages: the map, a meter's bays and the quote, the confirmation with the
bay light, and "my parking" with extend, end, cancel, change plate and receipts.

Plain HTML forms that work without JavaScript; small modules under `/static/parking/` add
the map and the live bay light. Each route calls the same services and queries the API
does; operators have their own screen of meters and bays (`meters`). A refused form is
shown again with the error beside its field, in the reader's language, and nothing is
booked or charged.
"""

from fastapi import APIRouter

from shahr.parking.pages import booking, meters, reservation, stays, vehicles
from shahr.parking.pages.forms import read_window

router = APIRouter()
router.include_router(booking.router)
router.include_router(reservation.router)
router.include_router(stays.router)
router.include_router(meters.router)
router.include_router(vehicles.router)

__all__ = ["read_window", "router"]
