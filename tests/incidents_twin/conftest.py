"""Incident twin fixtures: SUMO (required under CI), the runs kept in `var/twin-cache/`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shahr.demo.twin.engine import sumo_available

TWIN_CACHE = Path(__file__).resolve().parents[2] / "var" / "twin-cache"


@pytest.fixture(scope="session")
def twin_cache() -> Path:
    """Where the incident scenarios' SUMO runs are kept (by digest: a rerun is free)."""
    if not sumo_available():
        reason = "incident twin not run: Eclipse SUMO is not installed (pip install 'shahr[sumo]')"
        if os.environ.get("SHAHR_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(reason + " and SHAHR_TEST_REQUIRE_SERVICES=1")
        pytest.skip(reason)
    return TWIN_CACHE
