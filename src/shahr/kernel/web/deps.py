"""FastAPI dependencies for the kernel's ports, set on `app.state` by bootstrap."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from shahr.kernel.bus import EventBus
from shahr.kernel.cache import Cache, RateLimiter
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.web.templating import Templates


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def _cache(request: Request) -> Cache:
    cache: Cache = request.app.state.cache
    return cache


def _rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.container.rate_limiter
    return limiter


def _bus(request: Request) -> EventBus:
    bus: EventBus = request.app.state.bus
    return bus


DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]
TemplatesDep = Annotated[Templates, Depends(_templates)]
CacheDep = Annotated[Cache, Depends(_cache)]
BusDep = Annotated[EventBus, Depends(_bus)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
