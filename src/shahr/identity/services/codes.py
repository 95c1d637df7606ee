"""Citizens sign in with a one-time code sent by SMS to their mobile number."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shahr.identity.domain import (
    OtpChallenge,
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
from shahr.identity.persistence import CitizenRow, IdentityRepository, citizen_of, new_id
from shahr.identity.services.hashing import hash_code, new_code
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
) -> CodeSent:
    """Send a fresh code by SMS; the previous code of the phone stops working."""
    canonical = parse_phone(phone)
    now = clock.now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        challenge = await repository.otp_challenge(canonical)
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
        is_new = challenge is None
        if challenge is None:
            challenge = OtpChallenge(phone=canonical, code_hash=None, expires_at=now)
        previous = (challenge.code_hash, challenge.expires_at)
        challenge.issue(code_hash, now=now, ttl_s=settings.otp_ttl_s)
        await repository.save_otp_challenge(challenge, is_new=is_new)
        await session.commit()
    # Sent after the commit: a code that reaches the phone is always one that works.
    try:
        await sms.send_code(canonical, code)
    except SmsNotSentError:
        # Nothing reached the phone, so the request changes nothing and does not count.
        await _withdraw_code(database, canonical, code_hash, previous)
        await rate_limiter.give_back(quota)
        raise
    return CodeSent(phone=canonical, expires_at=challenge.expires_at)


async def _withdraw_code(
    database: Database, phone: str, code_hash: str, previous: tuple[str | None, datetime]
) -> None:
    # Not held open over the provider's call: its timeout is seconds, SQLite's lock is one.
    async with database.session() as session:
        await IdentityRepository(session).withdraw_otp_code(
            phone, code_hash, previous_hash=previous[0], previous_expiry=previous[1]
        )
        await session.commit()


async def verify_sign_in_code(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    settings: Settings,
    *,
    phone: str,
    code: str,
) -> CitizenSignedIn:
    """Check the code; the first success for a phone creates its citizen account."""
    canonical = parse_phone(phone)
    typed = parse_code(code, length=settings.otp_length)
    now = clock.now()
    code_hash = hash_code(settings.signing_key, canonical, typed)
    registered: CitizenRegistered | None = None
    async with database.session() as session:
        repository = IdentityRepository(session)
        challenge = await repository.otp_challenge(canonical)
        if challenge is None:
            # Never asked for a code: the same words as an expired one.
            challenge = OtpChallenge(phone=canonical, code_hash=None, expires_at=now)
        matched = challenge.verify(
            code_hash,
            now=now,
            max_attempts=settings.otp_max_attempts,
            lockout_s=settings.otp_lockout_s,
        )
        if not matched:
            await repository.save_otp_challenge(challenge, is_new=False)
            await session.commit()
            raise challenge.wrong_code_error(now=now, max_attempts=settings.otp_max_attempts)
        if not await repository.consume_otp_code(canonical, code_hash):
            # Another request signed in with this code a moment ago.
            raise code_expired()
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
