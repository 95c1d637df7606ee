"""The one-tap link in the reminder before a stay ends: signed, and good until the stay ends.

Pure: times come in as arguments. Like a quote, the link's token is HMAC-SHA256 signed
(with a key of its own), so the server keeps no link rows and a changed byte is refused.
The token names the reservation only; the page it opens still asks the citizen to sign in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shahr.kernel.errors import DomainError
from shahr.kernel.signing import TokenSigner

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


def invalid_link() -> InvalidReminderLinkError:
    return InvalidReminderLinkError(
        "This link is not valid. Open your reservation from My parking instead."
    )


class ReminderLinkSigner:
    """Signs a reservation's reminder link and reads it back, refusing a changed or old one."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        self._tokens = TokenSigner(key, purpose="reminder link", max_chars=MAX_LINK_TOKEN_CHARS)

    def sign(self, link: ReminderLink) -> str:
        expires_at = link.expires_at.astimezone(UTC).isoformat()
        return self._tokens.sign({"r": link.reservation_id, "x": expires_at})

    def read(self, token: str, *, now: datetime) -> ReminderLink:
        """The link this signer made, if unexpired; `InvalidReminderLinkError` otherwise."""
        body = self._tokens.read(token)
        if body is None:
            raise invalid_link()
        try:
            link = ReminderLink(str(body["r"]), datetime.fromisoformat(body["x"]))
        except (ValueError, KeyError, TypeError):
            raise invalid_link() from None
        if now >= link.expires_at:
            raise ReminderLinkExpiredError(
                "This link has expired: the stay it was for has ended. Find a bay again if"
                " you need one."
            )
        return link
