"""Citizens sign in with a one-time code sent by SMS to their mobile number."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shahr.identity.domain import (
    OtpCheck,
    SmsNotSentError,
    code_expired,
    mask_phone,
    parse_code,
    parse_phone,
    too_many_code_requests,
    too_many_wrong_codes,
)
from shahr.identity.events import CitizenRegistered
from shahr.identity.gateways import SmsGateway
from shahr.identity.persistence import (
    CitizenRow,
    CodeRepository,
    IdentityRepository,
    citizen_of,
    new_id,
)
from shahr.identity.services.hashing import hash_code, new_code
from shahr.identity.services.limits import (
    code_request_door,
    code_verify_door,
    give_back,
    knock,
)
from shahr.identity.services.sessions import CitizenSignedIn, start_session
from shahr.kernel.bus import EventBus
from shahr.kernel.cache import RateLimiter
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.settings import Settings


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_at: datetime


async def request_sign_in_code(
    database: Database,
    clock: Clock,
    rate_limiter: RateLimiter,
    sms: SmsGateway,
    settings: Settings,
    *,
    phone: str,
    client_address: str,
) -> CodeSent:
    """Send a fresh code by SMS; the previous code of the phone stops working."""
    canonical = parse_phone(phone)
    now = clock.now()
    door = code_request_door(settings)
    await knock(rate_limiter, settings, door, address=client_address, account=canonical)
    async with database.session() as session:
        codes = CodeRepository(session)
        challenge = await codes.otp_challenge(canonical)
        # A locked-out phone gets the lockout message, without spending a request.
        left = None if challenge is None else challenge.lockout_left_s(now)
        if left is not None:
            raise too_many_wrong_codes(left)
        quota = f"identity:otp-request:{canonical}"
        decision = await rate_limiter.hit(
            quota,
            limit=settings.otp_requests_per_window,
            window_s=settings.otp_request_window_s,
        )
        if not decision.allowed:
            raise too_many_code_requests(decision.retry_after_s)
        code = new_code(settings.otp_length)
        code_hash = hash_code(settings.signing_key, canonical, code)
        expires_at = now + timedelta(seconds=settings.otp_ttl_s)
        previous = (None, now) if challenge is None else (challenge.code_hash, challenge.expires_at)
        if not await codes.issue_code(canonical, code_hash, now=now, expires_at=expires_at):
            # Locked out a moment ago by guesses running beside this request.
            raise too_many_wrong_codes(settings.otp_lockout_s)
        await session.commit()
    # Sent after the commit: a code that reaches the phone is always one that works.
    try:
        await sms.send_code(canonical, code)
    except SmsNotSentError:
        # Nothing reached the phone, so the request changes nothing and does not count.
        await _withdraw_code(database, canonical, code_hash, previous)
        await rate_limiter.give_back(quota)
        await give_back(rate_limiter, door, address=client_address, account=canonical)
        raise
    return CodeSent(phone=canonical, expires_at=expires_at)


async def _withdraw_code(
    database: Database, phone: str, code_hash: str, previous: tuple[str | None, datetime]
) -> None:
    # Not held open over the provider's call: its timeout is seconds, SQLite's lock is one.
    async with database.session() as session:
        await CodeRepository(session).withdraw_code(
            phone, code_hash, previous_hash=previous[0], previous_expiry=previous[1]
        )
        await session.commit()


async def verify_sign_in_code(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    rate_limiter: RateLimiter,
    settings: Settings,
    *,
    phone: str,
    code: str,
    client_address: str,
) -> CitizenSignedIn:
    """Check the code; the first success for a phone creates its citizen account."""
    canonical = parse_phone(phone)
    typed = parse_code(code, length=settings.otp_length)
    await knock(
        rate_limiter,
        settings,
        code_verify_door(settings),
        address=client_address,
        account=canonical,
    )
    now = clock.now()
    code_hash = hash_code(settings.signing_key, canonical, typed)
    registered: CitizenRegistered | None = None
    async with database.session() as session:
        await _check_code(CodeRepository(session), settings, canonical, code_hash, now=now)
        repository = IdentityRepository(session)
        row = await repository.citizen_by_phone(canonical)
        if row is None:
            row = CitizenRow(
                id=new_id(), phone=canonical, display_name=mask_phone(canonical), created_at=now
            )
            repository.add_citizen(row)
            registered = CitizenRegistered(event_id=new_id(), citizen_id=row.id, occurred_at=now)
        row.last_signed_in_at = now
        token, expires_at = start_session(repository, settings, now, citizen_id=row.id)
        citizen = citizen_of(row)
        await session.commit()
    if registered is not None and bus is not None:
        await bus.publish(registered)
    return CitizenSignedIn(token=token, expires_at=expires_at, citizen=citizen)


async def _check_code(
    codes: CodeRepository, settings: Settings, phone: str, code_hash: str, *, now: datetime
) -> None:
    """Count the attempt, then compare; raise (after committing the count) unless it matched.

    The count comes first, in one statement: a burst of guesses each gets its own number,
    and none past the limit is compared at all (docs/decisions/0030).
    """
    challenge = await codes.count_attempt(phone, now=now, window_s=settings.otp_lockout_s)
    if challenge is None:
        current = await codes.otp_challenge(phone)
        left = None if current is None else current.lockout_left_s(now)
        # Never asked for a code, expired or used: the same words for each.
        raise code_expired() if left is None else too_many_wrong_codes(left)
    outcome = challenge.check(code_hash, max_attempts=settings.otp_max_attempts)
    if outcome is OtpCheck.spent:
        until = await codes.lock_out(phone, now=now, lockout_s=settings.otp_lockout_s)
        await codes.session.commit()
        raise too_many_wrong_codes(math.ceil((until - now).total_seconds()))
    if outcome is OtpCheck.wrong:
        await codes.session.commit()
        raise challenge.wrong_code_error(max_attempts=settings.otp_max_attempts)
    if not await codes.consume_code(phone, code_hash):
        # Another request signed in with this code a moment ago, or a lockout cleared it.
        await codes.session.commit()
        raise code_expired()
