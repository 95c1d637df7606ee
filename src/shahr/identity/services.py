"""Identity's use cases: sign-in by code or password, sessions, vehicles, API keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from shahr.identity.domain import (
    ApiKey,
    ApiKeyNotFoundError,
    Citizen,
    CitizenId,
    DuplicateVehicleError,
    InvalidApiKeyError,
    OtpChallenge,
    QuotaTier,
    StaffAccount,
    Vehicle,
    VehicleId,
    VehicleKind,
    VehicleNotFoundError,
    WrongPasswordError,
    check_name,
    check_staff_roles,
    code_expired,
    mask_phone,
    normalise_username,
    parse_code,
    parse_phone,
    split_api_key,
    too_many_code_requests,
    too_many_sign_in_attempts,
    too_many_wrong_codes,
)
from shahr.identity.events import (
    ApiKeyRevoked,
    CitizenRegistered,
    VehicleRegistered,
    VehicleRemoved,
)
from shahr.identity.gateways import SmsGateway
from shahr.identity.persistence import (
    ApiKeyRow,
    CitizenRow,
    IdentityRepository,
    SessionRow,
    StaffRow,
    VehicleRow,
    api_key_of,
    citizen_of,
    vehicle_of,
)
from shahr.kernel.access import Principal, Role
from shahr.kernel.bus import EventBus
from shahr.kernel.cache import Cache, RateLimiter
from shahr.kernel.clock import Clock, SystemClock
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError, NotFoundError
from shahr.kernel.plates import InvalidPlateError, parse_plate
from shahr.kernel.settings import Settings

# Staff sign-in: failures allowed per username before a lockout, and how long it lasts.
STAFF_FAILURES_ALLOWED = 5
STAFF_LOCKOUT_S = 900
SMS_TEXT_FA = "کد ورود شما به شهر: {code}"


def _new_id() -> str:
    return str(uuid.uuid4())


@cache
def _password_hasher() -> PasswordHasher:
    # argon2id with the library's RFC 9106 "low memory" defaults (64 MiB, 3 passes).
    return PasswordHasher()


@cache
def _dummy_password_hash() -> str:
    """A hash to verify against when the username is unknown, so timing reveals nothing."""
    return _password_hasher().hash(secrets.token_urlsafe(16))


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU on purpose; keep it off the event loop.
    return await asyncio.to_thread(_password_hasher().hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _password_hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def hash_code(signing_key: str, phone: str, code: str) -> str:
    """HMAC binds the code to its phone and to this deployment's secret.

    Six digits are a small space, so a plain hash could be reversed by trying them all;
    without the key, a copy of the table does not give the codes away.
    """
    message = f"{phone}:{code}".encode()
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def hash_token(token: str) -> str:
    """Session tokens and API keys carry 256 random bits, so a plain SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


# --- citizens: one-time codes ---


@dataclass(frozen=True)
class CodeSent:
    phone: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token is shown to the caller once and only its hash is kept."""

    token: str
    expires_at: datetime
    principal: Principal
    citizen: Citizen | None = None
    staff: StaffAccount | None = None


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
        decision = await rate_limiter.hit(
            f"identity:otp-request:{canonical}",
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
        challenge.issue(code_hash, now=now, ttl_s=settings.otp_ttl_s)
        await repository.save_otp_challenge(challenge, is_new=is_new)
        await session.commit()
    # Sent after the commit: a code that reaches the phone is always one that works.
    await sms.send(canonical, SMS_TEXT_FA.format(code=code))
    return CodeSent(phone=canonical, expires_at=challenge.expires_at)


async def verify_sign_in_code(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    settings: Settings,
    *,
    phone: str,
    code: str,
) -> SignedIn:
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
                id=_new_id(), phone=canonical, display_name=mask_phone(canonical), created_at=now
            )
            repository.add_citizen(row)
            registered = CitizenRegistered(event_id=_new_id(), citizen_id=row.id, occurred_at=now)
        row.last_signed_in_at = now
        token, expires_at = _start_session(repository, settings, now, citizen_id=row.id)
        citizen = citizen_of(row)
        await session.commit()
    if registered is not None and bus is not None:
        await bus.publish(registered)
    return SignedIn(
        token=token,
        expires_at=expires_at,
        principal=_citizen_principal(citizen),
        citizen=citizen,
    )


def _citizen_principal(citizen: Citizen) -> Principal:
    return Principal(
        id=citizen.id,
        kind="citizen",
        display_name=citizen.display_name,
        roles=frozenset({Role.citizen}),
    )


def _staff_principal(staff: StaffAccount) -> Principal:
    return Principal(id=staff.id, kind="staff", display_name=staff.display_name, roles=staff.roles)


# --- staff: passwords ---


async def sign_in_staff(
    database: Database,
    clock: Clock,
    cache: Cache,
    settings: Settings,
    *,
    username: str,
    password: str,
) -> SignedIn:
    """Check a staff password; failures are counted per username and locked out."""
    name = normalise_username(username)
    failures_key = f"identity:staff-sign-in-failures:{name}"
    await _refuse_when_locked_out(cache, failures_key)
    now = clock.now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.staff_by_username(name)
        # Verify even for an unknown username, so the answer takes as long either way.
        matches = await _password_matches(
            row.password_hash if row is not None else _dummy_password_hash(), password
        )
        if row is None or not row.active or not matches:
            failures = await cache.incr(failures_key, ttl_s=STAFF_LOCKOUT_S)
            if failures >= STAFF_FAILURES_ALLOWED:
                await _refuse_when_locked_out(cache, failures_key)
            raise WrongPasswordError("The username or password is wrong.", field="password")
        staff = await repository.staff_of(row)
        token, expires_at = _start_session(repository, settings, now, staff_id=row.id)
        await session.commit()
    await cache.delete(failures_key)
    return SignedIn(
        token=token, expires_at=expires_at, principal=_staff_principal(staff), staff=staff
    )


async def _refuse_when_locked_out(cache: Cache, failures_key: str) -> None:
    failures = await cache.get(failures_key)
    if failures is not None and int(failures) >= STAFF_FAILURES_ALLOWED:
        ttl = await cache.ttl(failures_key)
        raise too_many_sign_in_attempts(max(1, round(ttl)) if ttl else STAFF_LOCKOUT_S)


# --- sessions ---


def _start_session(
    repository: IdentityRepository,
    settings: Settings,
    now: datetime,
    *,
    citizen_id: str | None = None,
    staff_id: str | None = None,
) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.session_ttl_s)
    repository.add_session(
        SessionRow(
            id=_new_id(),
            token_hash=hash_token(token),
            citizen_id=citizen_id,
            staff_id=staff_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return token, expires_at


async def principal_for_token(database: Database, clock: Clock, *, token: str) -> Principal | None:
    """The citizen or staff member a session token speaks for; None if it is not valid now."""
    if not token or len(token) > 200:
        return None
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.session_by_token_hash(hash_token(token))
        if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
            return None
        if row.citizen_id is not None:
            citizen = await repository.citizen(row.citizen_id)
            return None if citizen is None else _citizen_principal(citizen)
        if row.staff_id is not None:
            staff = await repository.staff(row.staff_id)
            if staff is None or not staff.active:
                return None
            return _staff_principal(staff)
    return None


async def sign_out(database: Database, clock: Clock, *, token: str) -> None:
    """Revoke the session; signing out twice, or with a stale token, is not an error."""
    if not token or len(token) > 200:
        return
    async with database.session() as session:
        row = await IdentityRepository(session).session_by_token_hash(hash_token(token))
        if row is not None and row.revoked_at is None:
            row.revoked_at = clock.now()
            await session.commit()


# --- vehicles ---


async def register_vehicle(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    *,
    citizen_id: str,
    plate: str,
    kind: str,
    nickname: str | None = None,
) -> Vehicle:
    """Add a vehicle by plate to the citizen's account; the plate is stored canonical."""
    try:
        parsed = parse_plate(plate)
    except InvalidPlateError as error:
        # The parser names the plate's part to blame; the caller typed one `plate` field.
        raise InvalidPlateError(error.message, field="plate", **error.params) from error
    vehicle_kind = _vehicle_kind(kind)
    name = check_name(nickname, field_name="nickname") if nickname and nickname.strip() else None
    now = clock.now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        if await repository.citizen(citizen_id) is None:
            raise NotFoundError("Your account was not found. Please sign in again.")
        if await repository.has_plate(citizen_id, parsed.canonical):
            raise _duplicate_plate()
        row = VehicleRow(
            id=_new_id(),
            citizen_id=citizen_id,
            plate=parsed.canonical,
            kind=vehicle_kind.value,
            nickname=name,
            created_at=now,
        )
        repository.add_vehicle(row)
        try:
            await session.commit()
        except IntegrityError:
            # The same plate added twice at once: the unique constraint had the last word.
            raise _duplicate_plate() from None
    vehicle = vehicle_of(row)
    if bus is not None:
        await bus.publish(
            VehicleRegistered(
                event_id=_new_id(),
                citizen_id=citizen_id,
                vehicle_id=vehicle.id,
                plate=vehicle.plate,
                kind=vehicle.kind.value,
                occurred_at=now,
            )
        )
    return vehicle


def _duplicate_plate() -> DuplicateVehicleError:
    return DuplicateVehicleError("This plate is already registered on your account.", field="plate")


def _vehicle_kind(kind: str) -> VehicleKind:
    try:
        return VehicleKind(kind.strip())
    except ValueError:
        raise DomainError("Choose the kind of vehicle.", field="kind") from None


async def remove_vehicle(
    database: Database,
    clock: Clock,
    bus: EventBus | None,
    *,
    citizen_id: str,
    vehicle_id: str,
) -> None:
    """Remove one of the citizen's vehicles; another citizen's vehicle is not found."""
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.vehicle_row(citizen_id, vehicle_id)
        if row is None:
            raise VehicleNotFoundError("This vehicle is not on your account.")
        plate = row.plate
        await repository.delete_vehicle(row)
        await session.commit()
    if bus is not None:
        await bus.publish(
            VehicleRemoved(
                event_id=_new_id(),
                citizen_id=citizen_id,
                vehicle_id=VehicleId(vehicle_id),
                plate=plate,
                occurred_at=clock.now(),
            )
        )


# --- API keys ---


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key: `key` is shown once, then only its hash and prefix remain."""

    api_key: ApiKey
    key: str


async def create_api_key(
    database: Database,
    clock: Clock,
    *,
    consumer: str,
    quota_tier: str,
    created_by: str | None,
) -> IssuedApiKey:
    name = check_name(consumer, field_name="consumer", max_length=120)
    try:
        tier = QuotaTier(quota_tier.strip())
    except ValueError:
        raise DomainError("Choose a quota tier.", field="quota_tier") from None
    # Hex, so the prefix never contains the `_` that separates the key's parts.
    prefix = secrets.token_hex(4)
    key = f"shahr_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        id=_new_id(),
        consumer=name,
        quota_tier=tier.value,
        prefix=prefix,
        key_hash=hash_token(key),
        created_by=created_by,
        created_at=clock.now(),
    )
    async with database.session() as session:
        IdentityRepository(session).add_api_key(row)
        await session.commit()
    return IssuedApiKey(api_key=api_key_of(row), key=key)


async def revoke_api_key(
    database: Database, clock: Clock, bus: EventBus | None, *, key_id: str
) -> ApiKey:
    """Revoke a key for good; revoking it again changes nothing."""
    async with database.session() as session:
        row = await IdentityRepository(session).api_key_row(key_id)
        if row is None:
            raise ApiKeyNotFoundError("This API key does not exist.")
        newly_revoked = row.revoked_at is None
        if newly_revoked:
            row.revoked_at = clock.now()
            await session.commit()
        api_key = api_key_of(row)
    if newly_revoked and bus is not None and api_key.revoked_at is not None:
        await bus.publish(
            ApiKeyRevoked(event_id=_new_id(), api_key_id=key_id, occurred_at=api_key.revoked_at)
        )
    return api_key


async def principal_for_api_key(database: Database, *, key: str) -> Principal:
    """The open-data consumer an API key speaks for; a bad or revoked key is an error."""
    prefix, whole = split_api_key(key)
    async with database.session() as session:
        row = await IdentityRepository(session).api_key_by_prefix(prefix)
    if (
        row is None
        or row.revoked_at is not None
        or not hmac.compare_digest(row.key_hash, hash_token(whole))
    ):
        raise InvalidApiKeyError(
            "This API key is not valid or has been revoked.", field="X-API-Key"
        )
    return Principal(
        id=row.id, kind="api_key", display_name=row.consumer, quota_tier=row.quota_tier
    )


# --- what the demo seeder calls ---


async def ensure_staff_account(
    database: Database,
    *,
    username: str,
    password: str,
    display_name: str,
    roles: frozenset[Role],
    clock: Clock | None = None,
) -> str:
    """Create the staff account, or bring its name, roles and password up to date; its id."""
    name = normalise_username(username)
    check_name(name, field_name="username")
    display = check_name(display_name, field_name="display_name")
    wanted_roles = check_staff_roles(frozenset(roles))
    now = (clock or SystemClock()).now()
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.staff_by_username(name)
        if row is None:
            row = StaffRow(
                id=_new_id(),
                username=name,
                display_name=display,
                password_hash=await hash_password(password),
                active=True,
                created_at=now,
            )
            repository.add_staff(row)
            await session.flush()
        else:
            row.display_name = display
            row.active = True
            # Rehash only when the password changed: seeding twice stays cheap.
            if not await _password_matches(row.password_hash, password):
                row.password_hash = await hash_password(password)
        if await repository.staff_roles(row.id) != wanted_roles:
            await repository.set_staff_roles(row.id, wanted_roles)
        staff_id = row.id
        await session.commit()
    return staff_id


async def ensure_citizen(
    database: Database,
    *,
    phone: str,
    display_name: str,
    clock: Clock | None = None,
) -> str:
    """Create the citizen for this phone if there is none, else update its name; its id."""
    canonical = parse_phone(phone)
    display = check_name(display_name, field_name="display_name")
    async with database.session() as session:
        repository = IdentityRepository(session)
        row = await repository.citizen_by_phone(canonical)
        if row is None:
            row = CitizenRow(
                id=_new_id(),
                phone=canonical,
                display_name=display,
                created_at=(clock or SystemClock()).now(),
            )
            repository.add_citizen(row)
        else:
            row.display_name = display
        citizen_id = CitizenId(row.id)
        await session.commit()
    return citizen_id
