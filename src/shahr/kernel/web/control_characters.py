"""Text with control characters is refused at the edge, before any of it reaches the database.

PostgreSQL cannot store a NUL in text, and no field the city asks for (a name, a plate, a
note) has a use for the other C0 controls; a form's tabs and line breaks are text and pass.
One place checks the path, the query, form fields and every JSON string (decision 0031).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shahr.kernel.web import i18n
from shahr.kernel.web.problems import problem_response

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MESSAGE = "This text contains control characters."

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media_type: str = value.decode("latin-1")
            return media_type.split(";", 1)[0].strip().lower()
    return ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def _pairs(encoded: bytes) -> list[tuple[str, str]]:
    return parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, errors="replace")


def _json_texts(value: Any, field: str = "") -> Iterator[tuple[str, str]]:
    """Every (field, text) in a JSON document: its keys and its string values."""
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            yield name, str(key)
            yield from _json_texts(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_texts(item, f"{field}.{index}" if field else str(index))


def _tainted(pairs: Iterator[tuple[str, str]] | list[tuple[str, str]]) -> list[str]:
    """The fields whose name or text holds a control character, each once, in order."""
    found: list[str] = []
    for field, text in pairs:
        if CONTROL_CHARACTERS.search(text) or CONTROL_CHARACTERS.search(field):
            name = CONTROL_CHARACTERS.sub("?", field)
            if name not in found:
                found.append(name)
    return found


class ControlCharacterGuard:
    """Pure ASGI: reads a form or JSON body once, checks it, then hands the app the same bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = _tainted([("path", scope.get("path", ""))])
        fields += _tainted(_pairs(scope.get("query_string", b"")))
        media_type = _media_type(scope)
        if not (_is_json(media_type) or media_type in (_FORM, _MULTIPART)):
            await self._answer(fields, scope, receive, send)
            return
        body = await _read_body(receive)
        replay = _replaying(body, receive)
        if _is_json(media_type):
            fields += _tainted(_json_fields(body))
        elif media_type == _FORM:
            fields += _tainted(_pairs(body))
        else:
            fields += _tainted(await _multipart_fields(scope, _replaying(body, receive)))
        await self._answer(fields, scope, replay, send)

    async def _answer(self, fields: list[str], scope: Scope, receive: Receive, send: Send) -> None:
        if not fields:
            await self.app(scope, receive, send)
            return
        detail = i18n.gettext(MESSAGE)
        errors = [{"field": field, "detail": detail} for field in fields]
        await problem_response(scope, 422, errors=errors)(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    """The whole body; the edge's size limit (security.py) stops one that grows too large."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A receive that gives `body` once, then whatever the client sends next (a disconnect)."""
    given = False

    async def replay() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _json_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        document = json.loads(body)
    except ValueError:
        return []  # not JSON: the app's own validation says so
    return list(_json_texts(document))


async def _multipart_fields(scope: Scope, receive: Receive) -> list[tuple[str, str]]:
    request = Request(scope, receive)
    try:
        form = await request.form()
    except Exception:  # a malformed form: the app's own parsing answers it
        return []
    try:
        return [
            (name, (value.filename or "") if isinstance(value, UploadFile) else value)
            for name, value in form.multi_items()
        ]
    finally:
        await form.close()
