"""Staff sign in with a username and password; attempts are counted and locked out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from shahr.identity.domain import (
    TooManySignInAttemptsError,
    WrongPasswordError,
    normalise_username,
    too_many_sign_in_attempts,
)
from shahr.identity.persistence import IdentityRepository, StaffCredentials, staff_credentials
from shahr.identity.services.hashing import dummy_password_hash, password_matches
from shahr.identity.services.limits import knock, staff_door
from shahr.identity.services.sessions import StaffSignedIn, start_session
from shahr.kernel.cache import Cache, RateLimiter
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings

PasswordCheck = Callable[[str, str], Awaitable[bool]]
"""`(stored hash, typed password) -> matches`: argon2 in its own threads."""


async def sign_in_staff(
    database: Database,
    clock: Clock,
    cache: Cache,
    rate_limiter: RateLimiter,
    settings: Settings,
    *,
    username: str,
    password: str,
    client_address: str,
    password_check: PasswordCheck = password_matches,
) -> StaffSignedIn:
    """Check a staff password; attempts are counted per username and locked out.

    Each attempt is counted before its password is checked (one atomic increment), so a
    burst of guesses gets only the allowed few checked; a success takes back its own count
    but never the failures of the window. No database session is held while the slow hash
    runs (docs/decisions/0030).
    """
    name = normalise_username(username)
    await knock(rate_limiter, settings, staff_door(settings), address=client_address, account=name)
    attempts_key = _attempts_key(name)
    attempts = await cache.incr(attempts_key, ttl_s=settings.staff_lockout_s)
    if attempts > settings.staff_failures_allowed:
        raise await _locked_out(cache, settings, attempts_key)
    credentials = await staff_credentials(database, name)
    # Verify even for an unknown username, so the answer takes as long either way.
    stored = dummy_password_hash() if credentials is None else credentials.password_hash
    matches = await password_check(stored, password)
    if credentials is None or not credentials.active or not matches:
        if attempts >= settings.staff_failures_allowed:
            raise await _locked_out(cache, settings, attempts_key)
        raise _wrong_password()
    signed_in = await _start_staff_session(database, clock, settings, credentials)
    await cache.decr(attempts_key)
    return signed_in


async def _start_staff_session(
    database: Database, clock: Clock, settings: Settings, credentials: StaffCredentials
) -> StaffSignedIn:
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.staff_row(credentials.id)
        # Changed or disabled while the password was being checked: the check no longer holds.
        if row is None or not row.active or row.password_hash != credentials.password_hash:
            raise _wrong_password()
        staff = await repository.staff_of(row)
        token, expires_at = start_session(repository, settings, clock.now(), staff_id=row.id)
        await session.commit()
    return StaffSignedIn(token=token, expires_at=expires_at, staff=staff)


def _wrong_password() -> WrongPasswordError:
    return WrongPasswordError("The username or password is wrong.", field="password")


async def _locked_out(
    cache: Cache, settings: Settings, attempts_key: str
) -> TooManySignInAttemptsError:
    ttl = await cache.ttl(attempts_key)
    return too_many_sign_in_attempts(max(1, round(ttl)) if ttl else settings.staff_lockout_s)


def _attempts_key(name: str) -> str:
    return f"identity:staff-sign-in-attempts:{name}"


async def locked_out_for_s(cache: Cache, settings: Settings, username: str) -> int | None:
    """How long more a username is locked out after wrong passwords; None if it is not."""
    key = _attempts_key(normalise_username(username))
    attempts = await cache.get(key)
    if attempts is None or int(attempts) < settings.staff_failures_allowed:
        return None
    ttl = await cache.ttl(key)
    return max(1, round(ttl)) if ttl else settings.staff_lockout_s
