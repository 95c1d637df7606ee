"""Incidents' staff pages: the command dashboard, its live events, and the unit's phone page."""

from __future__ import annotations

from fastapi import APIRouter

from shahr.incidents.staff_pages import dashboard, feed, report, unit
from shahr.incidents.staff_pages.dashboard import DASHBOARD_PAGE
from shahr.incidents.staff_pages.feed import DASHBOARD_FEED, DashboardFeed
from shahr.incidents.staff_pages.unit import UNIT_PAGE

router = APIRouter()
for module in (feed, report, dashboard, unit):
    router.include_router(module.router)

__all__ = ["DASHBOARD_FEED", "DASHBOARD_PAGE", "UNIT_PAGE", "DashboardFeed", "router"]
