"""Incidents fixtures: the area's ports over a migrated database, and a few places in Tehran."""

from __future__ import annotations

import pytest

from shahr.bootstrap import Container
from shahr.incidents.domain.incident import Location
from shahr.incidents.services import INCIDENTS, IncidentsPorts

# On Enghelab street, eastbound, and a point 400 m behind it (west).
ENGHELAB = Location(
    lon=51.4100, lat=35.7010, segment_id="s-enghelab-3", offset_m=120.0, bearing_deg=90.0
)
BEHIND = Location(
    lon=51.4056, lat=35.7010, segment_id="s-enghelab-2", offset_m=40.0, bearing_deg=90.0
)


@pytest.fixture
def ports(container: Container) -> IncidentsPorts:
    return container.get(INCIDENTS)
