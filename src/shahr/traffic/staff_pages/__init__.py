"""Traffic's staff screens for the field inventory: detectors and cameras."""

from fastapi import APIRouter

from shahr.traffic.staff_pages import cameras, detectors

router = APIRouter()
router.include_router(detectors.router)
router.include_router(cameras.router)

CAMERAS = cameras.CAMERAS
INVENTORY = detectors.INVENTORY

__all__ = ["CAMERAS", "INVENTORY", "router"]
