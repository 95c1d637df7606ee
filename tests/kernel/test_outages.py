"""Which failures are a service's outage (a 503) and which are bugs (a 500)."""

from __future__ import annotations

import sqlite3

import pytest
import redis.exceptions
import sqlalchemy.exc

from shahr.kernel.outages import outage_of


def _sqlite(message: str) -> sqlalchemy.exc.OperationalError:
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(
    ("error", "service"),
    [
        (_sqlite("database is locked"), "database"),
        (_sqlite("unable to open database file"), "database"),
        (_sqlite("no such table: parking_bay"), None),
        (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), "database"),
        (redis.exceptions.ConnectionError("Error 111 connecting"), "cache"),
        (redis.exceptions.ResponseError("WRONGTYPE"), None),
        (ConnectionRefusedError("not raised by any service's client"), None),
        (ValueError("a bug"), None),
    ],
)
def test_an_outage_names_its_service_and_a_bug_is_none(
    error: Exception, service: str | None
) -> None:
    assert outage_of(error) == service
