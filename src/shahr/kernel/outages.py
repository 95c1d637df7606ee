"""Which service a failure means is down: the database, the cache, the stream or the broker.

A request that fails because a service does not answer is the city's outage, not a bug:
the edge answers 503 with `Retry-After` (decision 0031), and start-up waits for it.
"""

from __future__ import annotations

import sqlite3
import traceback
from typing import Literal

import aiomqtt
import nats.errors
import redis.exceptions
import sqlalchemy.exc

from shahr.kernel.errors import DomainError

Service = Literal["database", "cache", "stream", "broker"]

# How long a client should wait before trying again while a service is down.
RETRY_AFTER_S = 5

_DATABASE_FAILURES = (
    sqlalchemy.exc.OperationalError,  # connection lost, SQLite locked past busy_timeout
    sqlalchemy.exc.InterfaceError,  # asyncpg: the connection closed under a query
    sqlalchemy.exc.TimeoutError,  # no connection free in the pool in time
    sqlalchemy.exc.DisconnectionError,
)
_CACHE_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_STREAM_FAILURES = (
    nats.errors.NoServersError,
    nats.errors.ConnectionClosedError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
    nats.errors.TimeoutError,
)
# What the edge hands to `outage_of` (the socket's own errors and any statement's error
# among them); what it finds no outage in is a bug, answered 500.
OUTAGE_FAILURES: tuple[type[Exception], ...] = (
    *_DATABASE_FAILURES,
    sqlalchemy.exc.DBAPIError,
    *_CACHE_FAILURES,
    *_STREAM_FAILURES,
    aiomqtt.MqttError,
    ConnectionError,
    TimeoutError,
)
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk I/O", "disk is full")
# A driver that cannot connect raises the socket's own error; the package that raised it
# says which service did not answer.
_SERVICE_OF_PACKAGE: dict[str, Service] = {
    "asyncpg": "database",
    "aiosqlite": "database",
    "sqlalchemy": "database",
    "redis": "cache",
    "nats": "stream",
    "aiomqtt": "broker",
    "paho": "broker",
}


class ServiceUnavailableError(DomainError):
    """A service the request needs does not answer; the client may try again shortly."""

    def __init__(self, service: Service) -> None:
        super().__init__(_MESSAGES[service], retry_after_s=RETRY_AFTER_S, service=service)
        self.service = service


_MESSAGES: dict[Service, str] = {
    "database": "The database is not answering. Try again in a few seconds.",
    "cache": "The cache is not answering. Try again in a few seconds.",
    "stream": "The event stream is not answering. Try again in a few seconds.",
    "broker": "The device broker is not answering. Try again in a few seconds.",
}


def outage_of(error: BaseException) -> Service | None:
    """The service whose outage `error` is, or None when it is something else (a bug)."""
    if isinstance(error, ServiceUnavailableError):
        return error.service
    if isinstance(error, _DATABASE_FAILURES):
        return "database" if _not_sqlites_own(error) else None
    if isinstance(error, sqlalchemy.exc.DBAPIError) and error.connection_invalidated:
        return "database"
    if isinstance(error, _CACHE_FAILURES):
        return "cache"
    if isinstance(error, _STREAM_FAILURES):
        return "stream"
    if isinstance(error, aiomqtt.MqttError):
        return "broker"
    if isinstance(error, ConnectionError | TimeoutError):
        return _raised_by(error)
    return None


def _not_sqlites_own(error: Exception) -> bool:
    """SQLite reports a missing table as an "operational" error too; only a file it cannot
    open, read or lock (past `busy_timeout`) is the database being unavailable."""
    if not isinstance(error, sqlalchemy.exc.DBAPIError) or not isinstance(
        error.orig, sqlite3.Error
    ):
        return True
    return any(sign in str(error.orig) for sign in _SQLITE_UNAVAILABLE)


def _raised_by(error: BaseException) -> Service | None:
    """The service whose client library raised `error`, from the innermost frame inward."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        parts = frame.filename.replace("\\", "/").split("/")
        for package, service in _SERVICE_OF_PACKAGE.items():
            if package in parts:
                return service
    return None
