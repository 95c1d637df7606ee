"""Staff sign in with a username and password; failures are counted and locked out."""

from __future__ import annotations

from shahr.identity.domain import WrongPasswordError, normalise_username, too_many_sign_in_attempts
from shahr.identity.persistence import IdentityRepository
from shahr.identity.services.hashing import dummy_password_hash, password_matches
from shahr.identity.services.sessions import StaffSignedIn, start_session
from shahr.kernel.cache import Cache
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings

# Failures allowed per username before a lockout, and how long the lockout lasts. Settings
# has no staff knobs yet; these match the one-time-code defaults.
STAFF_FAILURES_ALLOWED = 5
STAFF_LOCKOUT_S = 900


async def sign_in_staff(
    database: Database,
    clock: Clock,
    cache: Cache,
    settings: Settings,
    *,
    username: str,
    password: str,
) -> StaffSignedIn:
    """Check a staff password; failures are counted per username and locked out."""
    name = normalise_username(username)
    failures_key = _failures_key(name)
    await _refuse_when_locked_out(cache, failures_key)
    now = clock.now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.staff_by_username(name)
        # Verify even for an unknown username, so the answer takes as long either way.
        matches = await password_matches(
            row.password_hash if row is not None else dummy_password_hash(), password
        )
        if row is None or not row.active or not matches:
            failures = await cache.incr(failures_key, ttl_s=STAFF_LOCKOUT_S)
            if failures >= STAFF_FAILURES_ALLOWED:
                await _refuse_when_locked_out(cache, failures_key)
            raise WrongPasswordError("The username or password is wrong.", field="password")
        staff = await repository.staff_of(row)
        token, expires_at = start_session(repository, settings, now, staff_id=row.id)
        await session.commit()
    await cache.delete(failures_key)
    return StaffSignedIn(token=token, expires_at=expires_at, staff=staff)


async def _refuse_when_locked_out(cache: Cache, failures_key: str) -> None:
    failures = await cache.get(failures_key)
    if failures is not None and int(failures) >= STAFF_FAILURES_ALLOWED:
        ttl = await cache.ttl(failures_key)
        raise too_many_sign_in_attempts(max(1, round(ttl)) if ttl else STAFF_LOCKOUT_S)


def _failures_key(name: str) -> str:
    return f"identity:staff-sign-in-failures:{name}"


async def locked_out_for_s(cache: Cache, username: str) -> int | None:
    """How long more a username is locked out after wrong passwords; None if it is not."""
    key = _failures_key(normalise_username(username))
    failures = await cache.get(key)
    if failures is None or int(failures) < STAFF_FAILURES_ALLOWED:
        return None
    ttl = await cache.ttl(key)
    return max(1, round(ttl)) if ttl else STAFF_LOCKOUT_S
