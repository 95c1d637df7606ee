"""A bug's log line says where and what type of error, never the request's data."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.kernel.logs import JsonFormatter

PLATE = "12ب345-67"


def _written(caplog: pytest.LogCaptureFixture) -> str:
    """What the server's log would hold: each record as the JSON formatter writes it (the
    test's own HTTP client logs the address it asked for; that is no server's log)."""
    return "\n".join(
        JsonFormatter().format(record) for record in caplog.records if record.name != "httpx"
    )


async def test_a_failing_query_logs_its_route_and_type_but_never_its_values(
    app: FastAPI, http: httpx.AsyncClient, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/api/v1/test/plates")
    async def look_up(plate: str, owner: str) -> None:
        async with container.database.session() as session:
            await session.execute(
                text("SELECT * FROM no_such_table WHERE plate = :plate AND owner = :owner"),
                {"plate": plate, "owner": owner},
            )

    with caplog.at_level(logging.INFO):
        response = await http.get(
            "/api/v1/test/plates", params={"plate": PLATE, "owner": "09121234567"}
        )

    assert response.status_code == 500
    written = _written(caplog)
    assert PLATE not in written
    assert "09121234567" not in written
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.getMessage() == f"unhandled {failure.error} in GET /api/v1/test/plates"  # type: ignore[attr-defined]
    assert failure.error in {"ProgrammingError", "OperationalError"}  # type: ignore[attr-defined]
    assert "look_up" in JsonFormatter().format(failure)  # the frame that failed


async def test_a_constraints_detail_with_a_value_stays_out_of_the_log(
    app: FastAPI, http: httpx.AsyncClient, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    @app.post("/api/v1/test/plates")
    async def add_twice() -> None:
        async with container.database.session() as session:
            await session.execute(text("CREATE TEMPORARY TABLE probe (plate TEXT UNIQUE)"))
            for _ in range(2):
                await session.execute(text("INSERT INTO probe VALUES (:p)"), {"p": PLATE})

    response = await http.post("/api/v1/test/plates", json={})

    assert response.status_code == 500
    assert "IntegrityError" in _written(caplog)
    assert PLATE not in _written(caplog)


async def test_without_the_formatter_postgresql_would_have_quoted_the_plate(
    app: FastAPI, http: httpx.AsyncClient, container: Container, caplog: pytest.LogCaptureFixture
) -> None:
    """The hazard the formatter is for: PostgreSQL's DETAIL names the value that clashed."""
    if container.database.is_sqlite:
        pytest.skip("SQLite names the column that clashed, not the value")
    await test_a_constraints_detail_with_a_value_stays_out_of_the_log(app, http, container, caplog)

    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.exc_info is not None
    assert PLATE in logging.Formatter().formatException(failure.exc_info)
