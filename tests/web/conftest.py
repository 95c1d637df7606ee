"""The shell's app, with two routes of its own that record what reaches them.

The shell has no form or JSON endpoint that writes, so these stand in for an area's: they
let the tests see that a refused request (too large, no CSRF token) changed nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Body, Depends, FastAPI, Form

from shahr.bootstrap import Container
from shahr.kernel.access import Admits
from shahr.web import create_app

PUBLIC = Depends(Admits(public=True))


class Written(list[Any]):
    """What the recording routes were given, in order."""


@pytest.fixture
def written() -> Written:
    return Written()


@pytest.fixture
def app(container: Container, written: Written) -> FastAPI:
    app = create_app(container)

    @app.post("/api/v1/test/notes", dependencies=[PUBLIC], status_code=201)
    async def add_note(note: Annotated[dict[str, Any], Body()]) -> dict[str, int]:
        written.append(note)
        return {"count": len(written)}

    @app.post("/test/notes", dependencies=[PUBLIC], status_code=201)
    async def add_note_from_form(text: Annotated[str, Form()]) -> dict[str, int]:
        written.append({"text": text})
        return {"count": len(written)}

    @app.get("/test/boom", dependencies=[PUBLIC])
    async def boom() -> None:
        raise RuntimeError("a bug in a route")

    return app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Like `client`, over the app above; a bug in a route comes back as the 500 it sends."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client
