"""Prometheus metrics and a JSON log line for every HTTP request."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("shahr.http")

HTTP_REQUESTS = Counter(
    "shahr_http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
HTTP_DURATION = Histogram(
    "shahr_http_request_duration_seconds",
    "HTTP request duration by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


def route_template(scope: Scope) -> str:
    """The matched route's path template, so `/bays/17` and `/bays/18` count as one series."""
    route = scope.get("route")
    return str(getattr(route, "path", "unmatched"))


class MetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording)
        finally:
            route = route_template(scope)
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            duration_s = time.perf_counter() - started
            HTTP_DURATION.labels(method, route).observe(duration_s)
            log.info(
                "%s %s %s",
                method,
                scope.get("path", ""),
                status,
                extra={
                    "status": status,
                    "route": route,
                    "duration_ms": round(duration_s * 1000, 2),
                },
            )
