"""Incidents' domain errors: each message is an English msgid translated at the edge."""

from __future__ import annotations

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError


class InvalidIncidentError(DomainError):
    """An incident (type, place, lanes, severity, timeline mark) that cannot be as described."""


class InvalidUnitError(DomainError):
    """A unit (kind, call sign, crew) that cannot be registered as described."""


class OutsideCityError(DomainError):
    """A position outside the city's box: a swapped, mistyped or stale coordinate."""


class IllegalMoveError(ConflictError):
    """A status change the state machine does not allow from the current status."""


class UnitUnavailableError(ConflictError):
    """The unit cannot take this incident: it is busy or out of service."""


class DispatchConflictError(ConflictError):
    """Someone else changed the unit or incident first: this change was not made."""


class IncidentNotFoundError(NotFoundError):
    """No incident has this id."""


class UnitNotFoundError(NotFoundError):
    """No unit has this id."""


class NoRoadNetworkError(NotFoundError):
    """No road network is connected (or the incident is on none): nothing to route over."""
