"""Starting while a service is down: serve "not ready" and keep trying, instead of exiting.

An orchestrator starts the database and the app together, and a database restarts under a
running city; neither is a reason for the process to die with a traceback (decision 0031).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from shahr.kernel.container import Container
from shahr.kernel.db import SchemaMissingError
from shahr.kernel.memory import settle_long_lived
from shahr.kernel.outages import Service, ServiceUnavailableError, outage_of
from shahr.kernel.web.problems import problem_response

log = logging.getLogger("shahr.startup")

FIRST_RETRY_S = 1.0
LONGEST_RETRY_S = 15.0
# What a process that is still starting answers anyway: the orchestrator's questions.
ALWAYS_ANSWERED = ("/healthz", "/readyz", "/metrics")


class Readiness:
    """Whether the process has started, or waits for a service, and why."""

    def __init__(self, container: Container) -> None:
        self.container = container
        self.waiting_for: Service | None = None
        self.reason = ""
        self._retrying: asyncio.Task[None] | None = None

    async def begin(self) -> None:
        """Start now if every service answers; else say why once and keep trying beside the app."""
        if await self._attempt():
            return
        self._retrying = asyncio.create_task(self._retry(), name="startup")

    async def end(self) -> None:
        if self._retrying is not None:
            self._retrying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._retrying

    async def _retry(self) -> None:
        pause_s = FIRST_RETRY_S
        try:
            while not await self._attempt():
                await asyncio.sleep(pause_s)
                pause_s = min(pause_s * 2, LONGEST_RETRY_S)
        except Exception:  # a bug, not an outage: it stays not ready, and says why
            log.exception("not ready: starting failed")

    async def _attempt(self) -> bool:
        try:
            await self.container.database.ping()
            await self.container.start()
        except SchemaMissingError as error:
            self._wait("database", str(error))
            return False
        except Exception as error:
            service = outage_of(error)
            if service is None:
                raise
            self._wait(service, f"the {service} is not answering ({type(error).__name__})")
            return False
        # What starting loaded (road network, caches) lives as long as the process.
        settle_long_lived()
        if self.waiting_for is not None:
            log.info("ready: the %s answers again", self.waiting_for)
        self.waiting_for, self.reason = None, ""
        return True

    def _wait(self, service: Service, reason: str) -> None:
        # One line for each new reason, not one a retry: the log says what to do, once.
        if reason != self.reason:
            log.error("not ready: %s; retrying", reason, extra={"service": service})
        self.waiting_for, self.reason = service, reason


class NotReadyGate:
    """While the process waits for a service, every request but the orchestrator's is a 503."""

    def __init__(self, app: ASGIApp, *, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.readiness.waiting_for
        if (
            service is None
            or scope["type"] != "http"
            or scope.get("path", "") in ALWAYS_ANSWERED
            or scope.get("path", "").startswith("/static/")
        ):
            await self.app(scope, receive, send)
            return
        await problem_response(scope, 503, ServiceUnavailableError(service))(scope, receive, send)
