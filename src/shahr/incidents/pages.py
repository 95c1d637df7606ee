"""Incidents' pages: the staff pages (command dashboard, unit's phone page), one router."""

from __future__ import annotations

from shahr.incidents import staff_pages

router = staff_pages.router
