"""FastAPI dependencies for the kernel's ports and the parts areas wire, from the container."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import Depends, Request

from shahr.kernel.bus import EventBus
from shahr.kernel.cache import Cache, RateLimiter
from shahr.kernel.clock import Clock
from shahr.kernel.container import Container, Part
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings
from shahr.kernel.web.templating import Templates

T = TypeVar("T")


def container_of(request: Request) -> Container:
    """The container the app was built around (`web.create_app` puts it on `app.state`)."""
    container: Container = request.app.state.container
    return container


def wired(request: Request, key: Part[T]) -> T:
    """The part an area wired under `key`, for that area's entry points."""
    return container_of(request).get(key)


def _database(request: Request) -> Database:
    return container_of(request).database


def _clock(request: Request) -> Clock:
    return container_of(request).clock


def _settings(request: Request) -> Settings:
    return container_of(request).settings


def _templates(request: Request) -> Templates:
    templates: Templates = request.app.state.templates
    return templates


def _cache(request: Request) -> Cache:
    return container_of(request).cache


def _rate_limiter(request: Request) -> RateLimiter:
    return container_of(request).rate_limiter


def _client_address(request: Request) -> str:
    """The address the request came from, as the server saw it.

    Behind a reverse proxy, `shahr serve` has uvicorn take it from X-Forwarded-For only
    when the connection comes from one of `SHAHR_TRUSTED_PROXIES` (decision 0030), so a
    client cannot choose its own address by sending the header.
    """
    return request.client.host if request.client else "unknown"


def _bus(request: Request) -> EventBus:
    return container_of(request).bus


DatabaseDep = Annotated[Database, Depends(_database)]
ClockDep = Annotated[Clock, Depends(_clock)]
SettingsDep = Annotated[Settings, Depends(_settings)]
TemplatesDep = Annotated[Templates, Depends(_templates)]
CacheDep = Annotated[Cache, Depends(_cache)]
BusDep = Annotated[EventBus, Depends(_bus)]
RateLimiterDep = Annotated[RateLimiter, Depends(_rate_limiter)]
ClientAddressDep = Annotated[str, Depends(_client_address)]
