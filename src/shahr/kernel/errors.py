"""Domain errors: each names the problem in words the edge translates into the user's language."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused something. `message` is an English gettext msgid with `{name}` fields.

    Services raise these; each area's error map decides the HTTP status, and the web shell
    renders problem+json for the API and a readable page for people, in their language.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        retry_after_s: int | None = None,
        **params: Any,
    ) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.field = field
        self.retry_after_s = retry_after_s
        self.params = params


class NotFoundError(DomainError):
    """The thing asked for does not exist (or is not the caller's to see)."""


class ConflictError(DomainError):
    """The request clashes with the current state (already taken, already done)."""


class RateLimitedError(DomainError):
    """Too many attempts; `retry_after_s` says when the user may try again."""


class PermissionDeniedError(DomainError):
    """The caller is signed in but their roles do not admit this.

    `needed_roles` (role values) are the roles that would: the 403 page names them.
    """

    def __init__(
        self, message: str, *, needed_roles: frozenset[str] = frozenset(), **params: Any
    ) -> None:
        super().__init__(message, **params)
        self.needed_roles = needed_roles


class NotSignedInError(DomainError):
    """The caller must sign in first."""
