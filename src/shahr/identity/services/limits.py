"""Per-address limits on the sign-in doors: asking for a code, typing it, staff passwords.

They sit in front of the per-account counters (a phone's code attempts, a username's
password tries), which stop guessing at one account from anywhere; these stop one address
from spraying many accounts, sending codes to hundreds of numbers, or keeping the password
hasher busy. Kept in Redis at city scale, in memory embedded (docs/decisions/0030).
"""

from __future__ import annotations

from dataclasses import dataclass

from shahr.identity.domain import too_many_from_address
from shahr.kernel.cache import RateLimiter
from shahr.kernel.settings import Settings


@dataclass(frozen=True)
class Door:
    """One sign-in door: its name in the keys, its limits and the form field an error names."""

    name: str
    per_address: int
    per_address_and_account: int | None
    field: str


def code_request_door(settings: Settings) -> Door:
    # The phone's own limit (settings.otp_requests_per_window) already binds each number.
    return Door("otp-request", settings.otp_requests_per_address, None, "phone")


def code_verify_door(settings: Settings) -> Door:
    return Door(
        "otp-verify",
        settings.otp_verifies_per_address,
        settings.otp_verifies_per_address_and_phone,
        "code",
    )


def staff_door(settings: Settings) -> Door:
    return Door(
        "staff-sign-in",
        settings.staff_sign_ins_per_address,
        settings.staff_sign_ins_per_address_and_username,
        "password",
    )


def _limits(door: Door, address: str, account: str) -> list[tuple[str, int]]:
    limits = [(f"identity:{door.name}:{address}", door.per_address)]
    if door.per_address_and_account is not None:
        limits.append((f"identity:{door.name}:{address}:{account}", door.per_address_and_account))
    return limits


async def knock(
    rate_limiter: RateLimiter, settings: Settings, door: Door, *, address: str, account: str
) -> None:
    """Count one knock from `address` (on `account`); refuse (429) past the door's limits."""
    for key, limit in _limits(door, address, account):
        decision = await rate_limiter.hit(
            key, limit=limit, window_s=settings.sign_in_address_window_s
        )
        if not decision.allowed:
            raise too_many_from_address(decision.retry_after_s, field=door.field)


async def give_back(rate_limiter: RateLimiter, door: Door, *, address: str, account: str) -> None:
    """Uncount a knock whose work did not happen (the SMS provider did not take the code)."""
    for key, _ in _limits(door, address, account):
        await rate_limiter.give_back(key)
