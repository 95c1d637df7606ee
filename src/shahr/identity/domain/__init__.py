"""Who is who: citizens by mobile number, staff with roles, vehicles (and their disability
permits, in `permits`), open-data API keys."""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

from shahr.identity.domain.permits import (
    PHOTO_MAX_BYTES,
    DisabilityPermit,
    InvalidPermitError,
    PermitAlreadyReviewedError,
    PermitId,
    PermitNotFoundError,
    PermitState,
    PermitStatus,
    check_permit_number,
    parse_expiry,
    photo_type,
)
from shahr.identity.domain.sms import (
    PhoneNotReachableError,
    SmsNotSentError,
    SmsUnavailableError,
    phone_not_reachable,
    sms_unavailable,
)
from shahr.kernel.errors import ConflictError, DomainError, NotFoundError, RateLimitedError
from shahr.kernel.persian import normalise
from shahr.kernel.principals import Role

CitizenId = NewType("CitizenId", str)
StaffId = NewType("StaffId", str)
VehicleId = NewType("VehicleId", str)
ApiKeyId = NewType("ApiKeyId", str)


class VehicleKind(StrEnum):
    car = "car"
    van = "van"
    light_truck = "light_truck"
    minibus = "minibus"
    motorcycle = "motorcycle"


class QuotaTier(StrEnum):
    free = "free"
    standard = "standard"
    premium = "premium"


# --- errors: English msgids, translated at the edge ---


class InvalidPhoneError(DomainError):
    """The text is not an Iranian mobile number."""


class WrongCodeError(DomainError):
    """The one-time code does not match."""


class CodeExpiredError(DomainError):
    """The one-time code is past its expiry, already used, or was never sent."""


class TooManyWrongCodesError(RateLimitedError):
    """The phone is locked out after too many wrong codes."""


class TooManyCodeRequestsError(RateLimitedError):
    """Codes were asked for this phone too often."""


class WrongPasswordError(DomainError):
    """One error for an unknown username and a wrong password, so neither leaks."""


class TooManySignInAttemptsError(RateLimitedError):
    """A staff username is locked out after too many wrong passwords."""


class TooManyFromAddressError(RateLimitedError):
    """One client address knocked on a sign-in door too often."""


class SessionExpiredError(DomainError):
    """A bearer token that is unknown, expired or revoked."""


class InvalidApiKeyError(DomainError):
    """An API key that is malformed, unknown or revoked."""


class DuplicateVehicleError(ConflictError):
    """The citizen already registered this plate."""


class VehicleNotFoundError(NotFoundError):
    """No such vehicle among the citizen's."""


class ApiKeyNotFoundError(NotFoundError):
    """No such API key."""


class InvalidCodeFormatError(DomainError):
    """The code is not made of the expected number of digits."""


class InvalidNameError(DomainError):
    """A name (nickname, consumer, display name) that is empty or too long."""


def minutes_until(retry_after_s: int) -> int:
    """Whole minutes, rounded up, so a lockout never ends later than the message says."""
    return max(1, math.ceil(retry_after_s / 60))


def code_expired() -> CodeExpiredError:
    """One message for expired, used and never-sent codes: which one it was helps no one."""
    return CodeExpiredError(
        "This code has expired or was already used. Ask for a new code.", field="code"
    )


def duplicate_plate() -> DuplicateVehicleError:
    return DuplicateVehicleError("This plate is already registered on your account.", field="plate")


def too_many_wrong_codes(retry_after_s: int) -> TooManyWrongCodesError:
    minutes = minutes_until(retry_after_s)
    message = (
        "Too many wrong codes. Try again in 1 minute."
        if minutes == 1
        else "Too many wrong codes. Try again in {minutes} minutes."
    )
    return TooManyWrongCodesError(
        message, field="code", retry_after_s=retry_after_s, minutes=minutes
    )


def too_many_code_requests(retry_after_s: int) -> TooManyCodeRequestsError:
    minutes = minutes_until(retry_after_s)
    message = (
        "Too many codes were requested for this number. Try again in 1 minute."
        if minutes == 1
        else "Too many codes were requested for this number. Try again in {minutes} minutes."
    )
    return TooManyCodeRequestsError(
        message, field="phone", retry_after_s=retry_after_s, minutes=minutes
    )


def too_many_sign_in_attempts(retry_after_s: int) -> TooManySignInAttemptsError:
    minutes = minutes_until(retry_after_s)
    message = (
        "Too many failed sign-ins. Try again in 1 minute."
        if minutes == 1
        else "Too many failed sign-ins. Try again in {minutes} minutes."
    )
    return TooManySignInAttemptsError(
        message, field="password", retry_after_s=retry_after_s, minutes=minutes
    )


def too_many_from_address(retry_after_s: int, *, field: str) -> TooManyFromAddressError:
    minutes = minutes_until(retry_after_s)
    message = (
        "Too many sign-in attempts came from your connection. Try again in 1 minute."
        if minutes == 1
        else "Too many sign-in attempts came from your connection. Try again in {minutes} minutes."
    )
    return TooManyFromAddressError(
        message, field=field, retry_after_s=retry_after_s, minutes=minutes
    )


# --- phone numbers ---

# After normalising: an optional country or trunk prefix, then the ten national digits of a
# mobile number (they all start with 9).
_MOBILE = re.compile(r"(?:\+98|0098|98|0)?(9[0-9]{9})")
_PHONE_SEPARATORS = str.maketrans("", "", " -()\u200c")


def parse_phone(text: str) -> str:
    """An Iranian mobile number in any usual spelling, as `+989121234567`."""
    compact = normalise(text).translate(_PHONE_SEPARATORS)
    match = _MOBILE.fullmatch(compact)
    if match is None:
        raise InvalidPhoneError(
            "This is not an Iranian mobile number. Enter it like 0912 123 4567.", field="phone"
        )
    return "+98" + match.group(1)


def mask_phone(phone: str) -> str:
    """`0912***4567`: enough for the owner to recognise, not enough to harvest."""
    national = "0" + phone.removeprefix("+98")
    return national[:4] + "***" + national[-4:]


def parse_code(text: str, *, length: int) -> str:
    """The code the citizen typed, with Persian digits and stray spaces allowed."""
    code = normalise(text).replace(" ", "")
    if len(code) != length or not code.isascii() or not code.isdigit():
        raise InvalidCodeFormatError("The code has {length} digits.", field="code", length=length)
    return code


# --- one-time codes ---


class OtpCheck(StrEnum):
    """What one typed code came to."""

    matched = "matched"
    wrong = "wrong"
    # Wrong, or past the limit and never compared: the attempts of the window are spent.
    spent = "spent"


@dataclass(frozen=True)
class OtpChallenge:
    """The phone's current code and its attempts; one row per phone.

    Attempts are counted per phone, in a window that opens with the first one, not per
    code: asking for a new code does not reset the count. Each attempt is counted before
    its code is compared, in one statement, so concurrent guesses each get their own
    number; a success takes back only its own attempt. A lockout clears the code, so the
    citizen must ask again afterwards.
    """

    phone: str
    code_hash: str | None
    expires_at: datetime
    wrong_attempts: int = 0
    locked_until: datetime | None = None

    def lockout_left_s(self, now: datetime) -> int | None:
        if self.locked_until is None or self.locked_until <= now:
            return None
        return math.ceil((self.locked_until - now).total_seconds())

    def check(self, code_hash: str, *, max_attempts: int) -> OtpCheck:
        """Judge the typed code; this attempt is already in `wrong_attempts`."""
        if self.wrong_attempts > max_attempts:
            return OtpCheck.spent
        if self.code_hash is not None and _same(self.code_hash, code_hash):
            return OtpCheck.matched
        return OtpCheck.spent if self.wrong_attempts >= max_attempts else OtpCheck.wrong

    def wrong_code_error(self, *, max_attempts: int) -> WrongCodeError:
        """The error for a wrong code that leaves tries: how many."""
        return WrongCodeError(
            "The code is wrong. Tries left: {remaining}.",
            field="code",
            remaining=max_attempts - self.wrong_attempts,
        )


def _same(a: str, b: str) -> bool:
    # Constant time, so response timing does not reveal how much of a code matched.
    return hmac.compare_digest(a, b)


# --- accounts ---


@dataclass(frozen=True)
class Citizen:
    id: CitizenId
    phone: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class StaffAccount:
    id: StaffId
    username: str
    display_name: str
    roles: frozenset[Role]
    password_hash: str
    active: bool = True


def normalise_username(text: str) -> str:
    """Usernames compare case-insensitively and without stray spaces."""
    return normalise(text).lower()


def check_name(text: str, *, field_name: str, max_length: int = 60) -> str:
    """A short human name: trimmed, normalised, not empty, not too long."""
    name = normalise(text)
    if not name:
        raise InvalidNameError("This field is required.", field=field_name)
    if len(name) > max_length:
        raise InvalidNameError(
            "At most {max_length} characters.", field=field_name, max_length=max_length
        )
    return name


def check_staff_roles(roles: frozenset[Role]) -> frozenset[Role]:
    """A staff account holds at least one role and never the citizen role (that is by phone)."""
    if not roles or Role.citizen in roles:
        raise DomainError("A staff account needs staff roles only.", field="roles")
    return roles


# --- vehicles ---


@dataclass(frozen=True)
class Vehicle:
    id: VehicleId
    citizen_id: CitizenId
    plate: str  # the canonical form from shahr.kernel.plates
    kind: VehicleKind
    nickname: str | None
    created_at: datetime


# --- API keys ---

API_KEY_PREFIX = "shahr"


@dataclass(frozen=True)
class ApiKey:
    id: ApiKeyId
    consumer: str
    quota_tier: QuotaTier
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None
    created_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def split_api_key(text: str) -> tuple[str, str]:
    """`shahr_<prefix>_<secret>` into its prefix (for lookup) and the whole key (for hashing)."""
    parts = text.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or not parts[1] or not parts[2]:
        raise InvalidApiKeyError("This API key is not valid.", field="X-API-Key")
    return parts[1], text.strip()


# The permit and SMS names are re-exported here, so callers import the area's domain as one.
__all__ = [
    "PHOTO_MAX_BYTES",
    "DisabilityPermit",
    "InvalidPermitError",
    "PermitAlreadyReviewedError",
    "PermitId",
    "PermitNotFoundError",
    "PermitState",
    "PermitStatus",
    "PhoneNotReachableError",
    "SmsNotSentError",
    "SmsUnavailableError",
    "check_permit_number",
    "parse_expiry",
    "phone_not_reachable",
    "photo_type",
    "sms_unavailable",
]
