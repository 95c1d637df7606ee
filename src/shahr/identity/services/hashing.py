"""Hashes for what identity stores: codes (HMAC), tokens (SHA-256), passwords (argon2)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


@cache
def _password_hasher() -> PasswordHasher:
    # argon2id with the library's RFC 9106 "low memory" defaults (64 MiB, 3 passes).
    return PasswordHasher()


@cache
def dummy_password_hash() -> str:
    """A hash to verify against when the username is unknown, so timing reveals nothing."""
    return _password_hasher().hash(secrets.token_urlsafe(16))


@cache
def _password_threads() -> ThreadPoolExecutor:
    """Threads of their own for argon2, one per CPU, created on first use.

    Each hash takes tens of milliseconds of CPU and 64 MiB on purpose. On the shared default
    executor a flood of sign-ins would queue ahead of every other `to_thread` call and hash
    in as many threads at once as it has; here the flood waits its turn in this queue only,
    and memory stays at most one hash per CPU.
    """
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="argon2")


async def hash_password(password: str) -> str:
    # argon2 takes tens of milliseconds of CPU on purpose; keep it off the event loop.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_password_threads(), _password_hasher().hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _password_hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(_password_threads(), verify)


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
