"""The composition root: the only place that picks concrete adapters and wires areas together."""

from __future__ import annotations

import importlib
from datetime import timedelta
from typing import Any

from sqlalchemy import MetaData

from shahr.kernel.bus import EventBus
from shahr.kernel.cache import RateLimiter, make_cache
from shahr.kernel.clock import Clock, ShiftedClock, SystemClock
from shahr.kernel.container import Background, Container
from shahr.kernel.db import Base, Database
from shahr.kernel.errors import DomainError
from shahr.kernel.mqtt import make_broker
from shahr.kernel.settings import Settings
from shahr.kernel.stream import make_stream

__all__ = [
    "AREAS",
    "Background",
    "Container",
    "area_error_status",
    "area_routers",
    "build",
    "error_status",
    "wire",
]

# Every area, in the order their routes and tables are loaded.
AREAS = (
    "identity",
    "payments",
    "parking",
    "traffic",
    "incidents",
    "air_quality",
    "transparency",
    "indicators",
    "open_data",
    "maps",
    "demo",
)


def _area_module(area: str, module: str) -> Any | None:
    """An area's module if the area has it; areas grow their modules one at a time."""
    name = f"shahr.{area}.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None
        raise


def load_all_tables() -> MetaData:
    """Import every area's tables so `Base.metadata` knows them (for Alembic and tests)."""
    for area in AREAS:
        _area_module(area, "persistence")
    return Base.metadata


def area_routers() -> list[Any]:
    """Each area's API and page routers, in area order."""
    routers = []
    for area in AREAS:
        for module_name in ("api", "pages", "lights_api"):
            module = _area_module(area, module_name)
            if module is not None and hasattr(module, "router"):
                routers.append(module.router)
    return routers


def area_error_status() -> dict[str, dict[type[DomainError], int]]:
    """Each area's error map (`ERROR_STATUS` in its api module), by area."""
    maps: dict[str, dict[type[DomainError], int]] = {}
    for area in AREAS:
        module = _area_module(area, "api")
        if module is not None:
            maps[area] = dict(getattr(module, "ERROR_STATUS", {}))
    return maps


def error_status() -> dict[type[DomainError], int]:
    """The per-area error maps, merged: one handler answers every area's errors."""
    merged: dict[type[DomainError], int] = {}
    for statuses in area_error_status().values():
        merged.update(statuses)
    return merged


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Container:
    """Pick each port's adapter from settings (unset URLs mean the embedded adapters), then
    let each area wire itself onto the container, in order."""
    settings = settings or Settings()
    if clock is None:
        shift = timedelta(seconds=settings.clock_shift_s)
        clock = ShiftedClock(shift) if shift else SystemClock()
    stream = make_stream(settings)
    cache = make_cache(settings, clock)
    container = Container(
        settings=settings,
        clock=clock,
        database=Database(settings.sqlalchemy_url),
        stream=stream,
        bus=EventBus(stream, city=settings.city),
        broker=make_broker(settings),
        cache=cache,
        rate_limiter=RateLimiter(cache),
    )
    wire(container)
    container.refuse_sandbox_in_production()
    return container


def wire(container: Container) -> None:
    """Each area wires itself; the bridges give each area's ports another area's services."""
    # Imported here, like every area module bootstrap loads, so importing bootstrap loads no area.
    from shahr import bridges
    from shahr.demo.wiring import wire_demo
    from shahr.identity.wiring import wire_identity
    from shahr.incidents.wiring import wire_incidents
    from shahr.maps.wiring import wire_maps
    from shahr.parking.wiring import wire_parking
    from shahr.payments.wiring import wire_payments
    from shahr.traffic.wiring import wire_traffic

    wire_identity(container)
    wire_payments(container)
    if container.settings.demo:
        bridges.credit_demo_wallets(container)
    parking = wire_parking(
        container,
        payments=bridges.PaymentsForParking(container),
        vehicles=bridges.VehiclesFromIdentity(container),
        notifier=bridges.SmsForParking(container),
    )
    bridges.confirm_parking_by_card(container, parking)
    wire_traffic(container)
    # Detectors and cameras are handed in as their bridges land.
    wire_incidents(container, roads=bridges.RoadsForIncidents(container))
    wire_maps(container)
    wire_demo(container)
