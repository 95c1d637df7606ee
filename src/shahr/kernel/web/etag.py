"""Responses a client may keep: the body with its ETag, or 304 and no body if it holds it."""

from __future__ import annotations

import hashlib

from fastapi import Request, Response


def etag_of(body: bytes) -> str:
    """A strong ETag from the body's SHA-256, quoted as the header carries it."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def client_holds(request: Request, etag: str) -> bool:
    """Whether the request's If-None-Match names this ETag (weak or strong) or is `*`."""
    held = request.headers.get("if-none-match", "")
    return held == "*" or etag in (tag.strip().removeprefix("W/") for tag in held.split(","))


def cached_response(
    request: Request,
    body: bytes,
    *,
    media_type: str,
    cache_control: str,
    etag: str | None = None,
) -> Response:
    """The body with its ETag (`etag`, else one from the body) and Cache-Control; 304 and no
    body when the client already holds that ETag."""
    tag = etag_of(body) if etag is None else etag
    headers = {"etag": tag, "cache-control": cache_control}
    if client_holds(request, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
