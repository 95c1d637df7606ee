"""The live map's stream when the browser leaves: nothing is logged, nothing is left open."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest
from fastapi import FastAPI

from shahr.bootstrap import Container
from shahr.web import create_app

LIVE = "/api/v1/traffic/live"


async def open_the_stream_and_leave(app: FastAPI, after_s: float) -> list[dict[str, Any]]:
    """Open the live stream as uvicorn would serve a browser, and close the tab after `after_s`.

    httpx's ASGI transport reads a whole response before it returns, so it cannot leave
    half-way; this speaks ASGI directly, with uvicorn's spec version (2.3: Starlette cancels
    the stream when the client goes).
    """
    sent: list[dict[str, Any]] = []
    asked = False
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": LIVE,
        "raw_path": LIVE.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }
    serving = asyncio.create_task(app(scope, receive, send))
    await asyncio.sleep(after_s)
    gone.set()
    await asyncio.wait_for(serving, timeout=10)
    return sent


async def test_a_browser_leaving_the_live_map_mid_stream_logs_no_error(
    network: Container, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    app = create_app(network)

    # Leaving at once, during the first check of the database, and between checks.
    for after_s in (0.0, 0.001, 0.003, 0.01, 0.05) * 3:
        sent = await open_the_stream_and_leave(app, after_s)
        assert sent[0]["status"] == 200
    gc.collect()  # a session abandoned half-way complains when it is collected
    await asyncio.sleep(0.1)

    assert [record.getMessage() for record in caplog.records] == []
