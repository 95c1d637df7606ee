"""Open-data API keys: issued once, kept as a hash, revocable."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from shahr.identity.domain import (
    API_KEY_PREFIX,
    ApiKey,
    ApiKeyNotFoundError,
    InvalidApiKeyError,
    QuotaTier,
    check_name,
    split_api_key,
)
from shahr.identity.events import ApiKeyRevoked
from shahr.identity.persistence import ApiKeyRow, IdentityRepository, api_key_of, new_id
from shahr.identity.services.hashing import hash_token
from shahr.kernel.bus import EventBus
from shahr.kernel.clock import Clock
from shahr.kernel.db import Database
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Principal


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
    key = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKeyRow(
        id=new_id(),
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
            ApiKeyRevoked(event_id=new_id(), api_key_id=key_id, occurred_at=api_key.revoked_at)
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
