"""Seed the demo city: districts, metro and air-quality stations, one account per role."""

from __future__ import annotations

from typing import Any


async def seed_demo_city(container: Any) -> list[str]:
    """Idempotent: running it twice leaves one copy of everything."""
    return []
