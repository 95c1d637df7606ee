"""Signed tokens the server hands out and reads back without keeping a row for them.

A token is `payload.mac`: the payload is compact JSON in URL-safe base64, the mac its
HMAC-SHA256 under a key of the token's own purpose. A changed byte, a token too long to be
ours or one that is not ASCII reads as not ours; what the body means is the caller's.
Parking's quotes and its reminder links are such tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

MIN_KEY_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Signs a JSON body into a token and reads back only the tokens it signed."""

    def __init__(self, key: bytes | Callable[[], bytes], *, purpose: str, max_chars: int) -> None:
        # A callable is asked once, at the first token: the app's secret may live in a file
        # that should not be read (or made) merely by building the app.
        self._key_source = key
        self._key: bytes | None = None
        self._purpose = purpose
        self._max_chars = max_chars

    def _secret(self) -> bytes:
        if self._key is None:
            source = self._key_source
            key = source if isinstance(source, bytes) else source()
            if len(key) < MIN_KEY_BYTES:
                raise ValueError(f"a {self._purpose} signing key has at least 16 bytes")
            self._key = key
        return self._key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret(), payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, body: dict[str, Any]) -> str:
        payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str) -> dict[str, Any] | None:
        """The body of a token this signer made; None for anything else."""
        payload, _sep, mac = token.strip().partition(".")
        if (
            len(token) > self._max_chars
            or not payload.isascii()
            or not mac.isascii()
            or not hmac.compare_digest(mac, self._mac(payload))
        ):
            return None
        try:
            body = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            return None
        return body if isinstance(body, dict) else None
