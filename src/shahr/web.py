"""The ASGI app: the web shell, every area's routes, health and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from babel.dates import format_date
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from shahr import __version__, bootstrap
from shahr.bootstrap import Container
from shahr.kernel.access import Admits
from shahr.kernel.clock import in_tehran
from shahr.kernel.db import SchemaMissingError
from shahr.kernel.errors import NotFoundError
from shahr.kernel.web import i18n
from shahr.kernel.web import pages as shell_pages
from shahr.kernel.web.control_characters import ControlCharacterGuard
from shahr.kernel.web.deps import ClockDep, TemplatesDep
from shahr.kernel.web.i18n import LANGUAGES
from shahr.kernel.web.methods import allow_every_method_of_the_resource
from shahr.kernel.web.metrics import MetricsMiddleware
from shahr.kernel.web.openapi import complete_the_document
from shahr.kernel.web.problems import install_error_handlers
from shahr.kernel.web.readiness import NotReadyGate, Readiness
from shahr.kernel.web.security import LANGUAGE_COOKIE, EdgeMiddleware, verify_csrf
from shahr.kernel.web.templating import Templates

STATIC_DIR = Path(__file__).resolve().parent / "kernel" / "web" / "static"
PUBLIC = Depends(Admits(public=True))


class ReadinessOut(BaseModel):
    """`/readyz`'s answer: ready or not, and each dependency's check."""

    status: Literal["ready", "not ready"]
    checks: dict[str, str]


def create_app(container: Container) -> FastAPI:
    """Build the app around a container; the container's lifetime is the app's lifespan."""

    readiness = Readiness(container)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await readiness.begin()
        try:
            yield
        finally:
            await readiness.end()
            await container.stop()

    settings = container.settings
    app = FastAPI(
        title="Shahr API",
        version=__version__,
        summary="Smart-city platform for Tehran: parking, traffic, air quality, open data.",
        lifespan=lifespan,
        dependencies=[Depends(verify_csrf)],
        docs_url=None,
        redoc_url=None,
    )
    # The only two things on the app's state: the entry points find every port and part
    # through the container (`kernel.web.deps`).
    app.state.container = container
    app.state.templates = Templates()

    # Inside the edge: its headers and language reach their answers; its body limit bounds
    # what the guard reads.
    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(NotReadyGate, readiness=readiness)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        cookie_secure=settings.cookie_secure,
        default_language=settings.default_language,
        image_hosts=settings.image_origins,
    )
    app.add_middleware(MetricsMiddleware)
    install_error_handlers(app, bootstrap.error_status())
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    _add_shell_routes(app, container, readiness)
    app.include_router(shell_pages.router)
    for router in bootstrap.area_routers():
        app.include_router(router)
    allow_every_method_of_the_resource(app)
    complete_the_document(app, bootstrap.area_error_status())
    return app


def _add_shell_routes(app: FastAPI, container: Container, readiness: Readiness) -> None:
    _add_operations_routes(app, container, readiness)
    _add_page_routes(app, container)


def _add_operations_routes(app: FastAPI, container: Container, readiness: Readiness) -> None:
    """Liveness, readiness and metrics, for the orchestrator and Prometheus."""

    @app.get("/healthz", tags=["operations"], dependencies=[PUBLIC])
    async def healthz() -> dict[str, str]:
        """The process is up (liveness)."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        dependencies=[PUBLIC],
        responses={
            200: {"model": ReadinessOut},
            503: {"model": ReadinessOut, "description": "Something it needs is failing"},
        },
    )
    async def readyz() -> Response:
        """Database, stream, broker and cache answer (readiness)."""
        checks: dict[str, Any] = {
            "database": container.database.ping,
            "stream": container.stream.ping,
            "broker": container.broker.ping,
            "cache": container.cache.ping,
        }
        results: dict[str, str] = {}
        for name, ping in checks.items():
            try:
                await asyncio.wait_for(ping(), timeout=2)
                results[name] = "ok"
            except SchemaMissingError as error:  # what to do about it, in its own words
                results[name] = f"failing: {error}"
            except Exception as error:  # any failure means not ready; its type says which
                results[name] = f"failing: {type(error).__name__}"
        if readiness.waiting_for is not None:
            results["startup"] = f"waiting for the {readiness.waiting_for}"
        ready = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @app.get("/metrics", tags=["operations"], dependencies=[PUBLIC], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _add_page_routes(app: FastAPI, container: Container) -> None:
    """The shell's own pages: the language switch, the home map and the API docs."""

    @app.get("/lang/{language}", tags=["pages"], dependencies=[PUBLIC], include_in_schema=False)
    async def switch_language(language: str, request: Request, next: str = "/") -> Response:
        """Remember the chosen language and go back to the page the user was on."""
        if language not in LANGUAGES:
            raise NotFoundError("Nothing was found at this address.")
        response = RedirectResponse(local_path(next), status_code=303)
        response.set_cookie(
            LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.app.state.container.settings.cookie_secure,
        )
        return response

    @app.get("/", tags=["pages"], dependencies=[PUBLIC], include_in_schema=False)
    async def home(request: Request, templates: TemplatesDep, clock: ClockDep) -> Response:
        """The city on a map: districts, metro and air-quality stations, and the sign-in."""
        now = clock.now()
        today = in_tehran(now).date()
        language = i18n.current_language.get()
        context = {
            "now": now,
            "today": today,
            "weekday": format_date(today, "EEEE", locale=language),
            "gregorian": format_date(today, "d MMMM y", locale="en") if language == "en" else "",
            "tile_url": container.settings.tile_url or "",
            "tile_attribution": container.settings.tile_attribution,
        }
        return templates.render(request, "shell/home.html", context)

    @app.get("/api/docs", tags=["pages"], dependencies=[PUBLIC], include_in_schema=False)
    async def api_docs(request: Request, templates: TemplatesDep) -> Response:
        """Swagger UI over /openapi.json, served from our own static files."""
        return templates.render(request, "shell/api_docs.html")


def local_path(target: str) -> str:
    """`target` if it is a path on this site, else `/`: the language switch is no open redirect.

    Browsers read a backslash as a slash and drop tabs and newlines from a URL, so those
    would lead off the site as surely as `//evil.example`.
    """
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 0x20 or ord(char) == 0x7F for char in target)
    ):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target
