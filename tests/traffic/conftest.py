"""Traffic fixtures: the test grid imported and its detectors registered."""

from __future__ import annotations

import pytest

from shahr.bootstrap import Container
from shahr.traffic import services

from .network import DETECTORS, grid_segments


@pytest.fixture
async def network(container: Container) -> Container:
    """The container, with the 3x3 test grid and its detectors in the database."""
    await services.import_road_network(
        container.database, segments=grid_segments(), source="test grid", clock=container.clock
    )
    await services.register_detectors(
        container.database, detectors=DETECTORS, clock=container.clock
    )
    return container
