"""Disability permits: a vehicle's permit to use disabled bays, its photo, and its review.

A permit is submitted with a photo of the paper, waits for staff to review it, and is
approved or rejected; an approved permit is valid until its expiry date (inclusive), then
reads as expired without anyone changing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import NewType

import jdatetime

from shahr.kernel.errors import ConflictError, DomainError, NotFoundError
from shahr.kernel.persian import normalise

PermitId = NewType("PermitId", str)

# A phone photo of a paper permit, compressed, is well under this; a larger file is
# refused rather than stored, since every one is kept in the database.
PHOTO_MAX_BYTES = 2 * 1024 * 1024
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_NUMBER = re.compile(r"[A-Za-z0-9\u0600-\u06ff/\-]{3,30}")


class PermitStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class PermitState(StrEnum):
    """What a citizen and staff see: the status, or `expired` once the expiry has passed."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"


class InvalidPermitError(DomainError):
    """A permit's number, expiry or photo cannot be accepted."""


class PermitNotFoundError(NotFoundError):
    """No such permit."""


class PermitAlreadyReviewedError(ConflictError):
    """The permit was approved or rejected already."""


@dataclass(frozen=True)
class DisabilityPermit:
    id: PermitId
    vehicle_id: str
    citizen_id: str
    number: str
    expires_on: date
    status: PermitStatus
    photo_type: str
    submitted_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None

    def state_on(self, day: date) -> PermitState:
        if self.status is PermitStatus.rejected:
            return PermitState.rejected
        if self.expires_on < day:
            return PermitState.expired
        return PermitState(self.status.value)

    def valid_on(self, day: date) -> bool:
        return self.state_on(day) is PermitState.approved


def check_permit_number(text: str) -> str:
    number = normalise(text).replace(" ", "")
    if not number:
        raise InvalidPermitError("Enter the permit's number.", field="permit_number")
    if not _NUMBER.fullmatch(number):
        raise InvalidPermitError(
            "A permit number has 3 to 30 letters, digits, dashes or slashes.",
            field="permit_number",
        )
    return number


def parse_expiry(text: str, *, today: date) -> date:
    """The expiry typed as a date, Gregorian (`2027-03-20`) or Jalali (`1405/12/29`)."""
    clean = normalise(text)
    parts = re.split(r"[-/.]", clean)
    if not clean:
        raise InvalidPermitError("Enter the permit's expiry date.", field="permit_expires_on")
    try:
        year, month, day = (int(part) for part in parts)
        if 1300 <= year <= 1500:  # a Jalali year
            expires_on: date = jdatetime.date(year, month, day).togregorian()
        else:
            expires_on = date(year, month, day)
    except ValueError:
        raise InvalidPermitError(
            "Write the expiry date as year, month and day, e.g. 1405/12/29.",
            field="permit_expires_on",
        ) from None
    if expires_on < today:
        raise InvalidPermitError(
            "This permit has expired already; only a permit still in force can be added.",
            field="permit_expires_on",
        )
    return expires_on


def photo_type(photo: bytes) -> str:
    """The photo's media type, JPEG or PNG, read from its bytes (never from its name)."""
    if not photo:
        raise InvalidPermitError("Add a photo of the permit.", field="permit_photo")
    if len(photo) > PHOTO_MAX_BYTES:
        raise InvalidPermitError(
            "The photo is larger than {megabytes} MB. Send a smaller photo.",
            field="permit_photo",
            megabytes=PHOTO_MAX_BYTES // (1024 * 1024),
        )
    # Whole files only: a JPEG ends with its end-of-image marker, a PNG with its IEND chunk.
    if photo.startswith(_JPEG) and photo.rstrip(b"\x00").endswith(b"\xff\xd9"):
        return "image/jpeg"
    if photo.startswith(_PNG) and b"IEND" in photo[-12:]:
        return "image/png"
    raise InvalidPermitError("The photo must be a JPEG or PNG image.", field="permit_photo")
