"""A 405's `Allow` lists every method its address takes, not only one route's.

Starlette answers an unsupported method with the `Allow` of the first route whose path
matched, so `PUT /api/v1/identity/vehicles` was told `GET` although `POST` is there too:
GET and POST are two routes on one path. RFC 9110 asks for the resource's methods.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.routing import iter_route_contexts

from shahr.kernel.web.problems import error_page


def allow_every_method_of_the_resource(app: FastAPI) -> None:
    """Answer 405 (problem+json or a page, as for any error) with the address's `Allow`."""

    async def on_method_not_allowed(request: Request, _error: Exception) -> Response:
        response = await error_page(request, 405)
        response.headers["allow"] = ", ".join(allowed_methods(app, request.url.path))
        return response

    app.add_exception_handler(405, on_method_not_allowed)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods of the most specific paths that match: `/payments/wallet` takes its own
    methods, not those of `/payments/{payment_id}` as well."""
    by_path: dict[str, set[str]] = {}
    for route in iter_route_contexts(app.routes):
        pattern = getattr(route, "path_regex", None)
        if route.methods and pattern is not None and pattern.match(path):
            by_path.setdefault(route.path_format or path, set()).update(route.methods)
    if not by_path:
        return []
    fewest = min(path.count("{") for path in by_path)
    methods: set[str] = set()
    for path, taken in by_path.items():
        if path.count("{") == fewest:
            methods |= taken
    return sorted(methods)
