"""Traffic's domain errors: each message is an English msgid translated at the edge."""

from __future__ import annotations

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError


class InvalidNetworkError(DomainError):
    """A road network (file or spec) that cannot be imported as it is."""


class InvalidDetectorError(DomainError):
    """A detector or camera that cannot be placed as described."""


class SegmentNotFoundError(NotFoundError):
    """No segment has this id."""


class DetectorNotFoundError(NotFoundError):
    """No detector or camera has this id."""


class NoTrafficDataError(NotFoundError):
    """There is no traffic state or history for what was asked."""


class InvalidQueryError(DomainError):
    """A traffic query whose parameters do not make sense together."""


class NetworkInUseError(ConflictError):
    """A network replacement that would orphan detectors still placed on it."""


class InvalidCameraError(DomainError):
    """A camera that cannot be registered as described."""


class CameraNotFoundError(NotFoundError):
    """No camera has this id."""
