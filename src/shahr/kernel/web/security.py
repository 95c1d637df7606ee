"""Edge protections on every response: request id, language, security headers, body limit, CSRF."""

from __future__ import annotations

import hmac
import logging
import secrets
import uuid
from collections.abc import Sequence
from http.cookies import SimpleCookie
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shahr.kernel import logs
from shahr.kernel.credentials import SESSION_COOKIE
from shahr.kernel.web import i18n
from shahr.kernel.web.metrics import route_template
from shahr.kernel.web.problems import API_PREFIXES, BodyTooLargeError, CsrfError, problem_response

log = logging.getLogger("shahr.http")

CSRF_COOKIE = "shahr_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LANGUAGE_COOKIE = "lang"
API_DOCS_PATH = "/api/docs"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# No 'unsafe-inline' anywhere: every style lives in a file under /static, so an injected
# `<style>` or `style=""` cannot restyle a page (a fake sign-in box over the real one).
# Images come from this site, `data:` (Leaflet's icons) and the hosts the settings name.
CSP_TEMPLATE = (
    "default-src 'self'; img-src 'self' data:{image_hosts}; style-src 'self'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'"
)
STATIC_PREFIX = "/static/"
NO_STORE = (b"cache-control", b"no-store")
# Sent only when cookies are Secure, that is when the site is served over https.
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000")


def _cookies(scope: Scope) -> dict[str, str]:
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed cookie header is treated as none
                return {}
            return {key: morsel.value for key, morsel in jar.items()}
    return {}


def content_security_policy(image_hosts: Sequence[str] = ()) -> bytes:
    """The CSP header, with images allowed from `image_hosts` (`https://tiles.example`)."""
    return CSP_TEMPLATE.format(image_hosts="".join(f" {host}" for host in image_hosts)).encode()


def with_cache_policy(start: Message, path: str) -> list[tuple[bytes, bytes]]:
    """The response's headers, with `Cache-Control: no-store` unless a cache may keep it.

    Only a static file, or an answer its route declared `public` (the same body for every
    caller: a map layer), may be kept. Every other answer may carry personal data or the
    visitor's CSRF token, so neither the browser's cache nor a proxy's may store it, whether
    the caller came with a session cookie, a bearer token, an API key or nothing.
    """
    headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
    if path.startswith(STATIC_PREFIX):
        return headers
    declared = [value.lower() for name, value in headers if name.lower() == b"cache-control"]
    if any(b"public" in value or b"no-store" in value for value in declared):
        return headers
    return [(name, value) for name, value in headers if name.lower() != b"cache-control"] + [
        NO_STORE
    ]


def _is_api_call(path: str) -> bool:
    """A call from a program, not the API's documentation page (which is a page)."""
    return path.startswith(API_PREFIXES) and not path.startswith(API_DOCS_PATH)


class EdgeMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware) so streaming responses and SSE pass through untouched."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        cookie_secure: bool,
        default_language: str,
        max_upload_bytes: int | None = None,
        image_hosts: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.csp = (b"content-security-policy", content_security_policy(image_hosts))
        self.max_body_bytes = max_body_bytes
        # A form with a file (a permit's photo) may be larger than any other request.
        self.max_upload_bytes = max(max_upload_bytes or 0, max_body_bytes)
        self.cookie_secure = cookie_secure
        self.default_language: i18n.Language = "en" if default_language == "en" else "fa"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        extra_headers = self._begin(scope, headers)
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*with_cache_policy(message, scope["path"]), *extra_headers]
            await send(message)

        limit = self._limit(headers)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            # Refuse before reading a byte; the app's error handlers are not reachable here.
            await problem_response(scope, 413, self._too_large(limit))(scope, receive, send_secured)
            return

        received = 0
        overflowed = False
        replaced = False

        async def counted_receive() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise self._too_large(limit)
            return message

        async def send_checked(message: Message) -> None:
            # A body that grew past the limit while being read (no Content-Length) surfaces
            # wherever the app was reading it; FastAPI turns it into a 400 when it was parsing
            # JSON. Whatever the app made of it, the client gets the 413 that names the limit.
            nonlocal replaced
            if not overflowed:
                await send_secured(message)
            elif not replaced and message["type"] == "http.response.start":
                replaced = True
                await problem_response(scope, 413, self._too_large(limit))(
                    scope, receive, send_secured
                )

        try:
            await self.app(scope, counted_receive, send_checked)
        except Exception as failure:
            if not overflowed:
                _log_failure(scope, failure)
            if started and not overflowed:
                raise  # the answer is under way: only the server can cut it short
            if not started:
                await self._failed(scope, receive, send_secured, limit if overflowed else None)

    async def _failed(
        self, scope: Scope, receive: Receive, send: Send, overflowed_limit: int | None
    ) -> None:
        """Ours, not the outermost middleware's 500 (it has no security headers): the 413
        that names the limit a body grew past, else the 500 of a bug."""
        if overflowed_limit is not None:
            too_large = self._too_large(overflowed_limit)
            await problem_response(scope, 413, too_large)(scope, receive, send)
        else:
            await problem_response(scope, 500)(scope, receive, send)

    def _begin(self, scope: Scope, headers: dict[bytes, bytes]) -> list[tuple[bytes, bytes]]:
        """Give the request its id, language and CSRF token; the headers its answer carries."""
        cookies = _cookies(scope)
        request_id = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        path: str = scope.get("path", "")
        # A program says which language it reads with each call; pages follow the cookie.
        asked = headers.get(b"accept-language") if _is_api_call(path) else None
        language = i18n.pick_language(
            cookies.get(LANGUAGE_COOKIE),
            self.default_language,
            asked.decode("latin-1") if asked else None,
        )
        i18n.current_language.set(language)
        logs.request_id.set(request_id)

        csrf_token = cookies.get(CSRF_COOKIE, "")
        new_csrf = not csrf_token or len(csrf_token) != 43
        if new_csrf:
            csrf_token = secrets.token_urlsafe(32)
        state: dict[str, Any] = scope.setdefault("state", {})
        state.update(request_id=request_id, csrf_token=csrf_token, language=language)

        extra_headers = [
            *SECURITY_HEADERS,
            self.csp,
            (b"x-request-id", request_id.encode("latin-1")),
        ]
        if self.cookie_secure:
            extra_headers.append(HSTS_HEADER)
        # API and open-data answers may sit in shared caches: a token there would be shared
        # between users. Pages set the cookie; API clients need none (decision 0023).
        if new_csrf and not _is_api_call(path):
            flags = "; HttpOnly; SameSite=Lax; Path=/"
            if self.cookie_secure:
                flags += "; Secure"
            extra_headers.append((b"set-cookie", f"{CSRF_COOKIE}={csrf_token}{flags}".encode()))
        return extra_headers

    def _limit(self, headers: dict[bytes, bytes]) -> int:
        """The most a request may send: more for a form with a file (a permit's photo)."""
        if headers.get(b"content-type", b"").startswith(b"multipart/form-data"):
            return self.max_upload_bytes
        return self.max_body_bytes

    def _too_large(self, limit: int) -> BodyTooLargeError:
        return BodyTooLargeError("The request is too large (at most {limit} bytes).", limit=limit)


def _log_failure(scope: Scope, failure: Exception) -> None:
    """A bug's one log line: the route and the error's type and frames (`logs.JsonFormatter`),
    not the address asked for, whose query and path may carry a plate or a phone number."""
    route = route_template(scope)
    kind = type(failure).__name__
    log.error(
        "unhandled %s in %s %s",
        kind,
        scope.get("method", ""),
        route,
        extra={"route": route, "error": kind},
        exc_info=failure,
    )


def _is_json(request: Request) -> bool:
    """The body is declared as JSON, a type no cross-site form or simple request can send."""
    declared = request.headers.get("content-type", "")
    return declared.split(";", 1)[0].strip().lower() == "application/json"


async def verify_csrf(request: Request) -> None:
    """A global dependency: browser requests that change something must carry the page's token.

    Only a request that rides on the session cookie's ambient authority can be forged from
    another site, so the others need no token: those authenticated by a bearer token or an
    API key, and JSON sent without the session cookie (an app signing in, a script).
    Decision 0023.
    """
    if request.method not in UNSAFE_METHODS:
        return
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer ") or "x-api-key" in request.headers:
        return
    if _is_json(request) and SESSION_COOKIE not in request.cookies:
        return
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        field = form.get(CSRF_FIELD)
        given = field if isinstance(field, str) else ""
    if not expected or not given or not hmac.compare_digest(expected, given):
        raise CsrfError("This form has expired. Reload the page and try again.")
