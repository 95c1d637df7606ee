"""The one-tap link in the reminder before a stay ends: signed, and good until the stay ends.

Pure: times come in as arguments. Like a quote, the link's token is HMAC-SHA256 signed
(with a key of its own), so the server keeps no link rows and a changed byte is refused.
The token names the reservation only; the page it opens still asks the citizen to sign in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shahr.kernel.errors import DomainError

MAX_LINK_TOKEN_CHARS = 300
# A reservation booked with less than this left gets no reminder: it would come at once.
REMINDER_MIN_LEAD = timedelta(minutes=10)


class InvalidReminderLinkError(DomainError):
    """The link's token is not one we signed."""


class ReminderLinkExpiredError(DomainError):
    """The stay the link was for has ended."""


@dataclass(frozen=True)
class ReminderLink:
    reservation_id: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def invalid_link() -> InvalidReminderLinkError:
    return InvalidReminderLinkError(
        "This link is not valid. Open your reservation from My parking instead."
    )


class ReminderLinkSigner:
    """Signs a reservation's reminder link and reads it back, refusing a changed or old one."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        # A callable is asked once, at the first link (the app's secret is read lazily).
        self._key_source = key
        self._key: bytes | None = None

    def _secret(self) -> bytes:
        if self._key is None:
            source = self._key_source
            key = source if isinstance(source, bytes) else source()
            if len(key) < 16:
                raise ValueError("a reminder link signing key has at least 16 bytes")
            self._key = key
        return self._key

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._secret(), payload.encode("ascii"), hashlib.sha256).digest())

    def sign(self, link: ReminderLink) -> str:
        body = {"r": link.reservation_id, "x": link.expires_at.astimezone(UTC).isoformat()}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def read(self, token: str, *, now: datetime) -> ReminderLink:
        """The link this signer made, if unexpired; `InvalidReminderLinkError` otherwise."""
        payload, _sep, mac = token.strip().partition(".")
        if (
            len(token) > MAX_LINK_TOKEN_CHARS
            or not payload.isascii()
            or not mac.isascii()
            or not hmac.compare_digest(mac, self._mac(payload))
        ):
            raise invalid_link()
        try:
            body = json.loads(_unb64(payload))
            link = ReminderLink(str(body["r"]), datetime.fromisoformat(body["x"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise invalid_link() from None
        if now >= link.expires_at:
            raise ReminderLinkExpiredError(
                "This link has expired: the stay it was for has ended. Find a bay again if"
                " you need one."
            )
        return link
