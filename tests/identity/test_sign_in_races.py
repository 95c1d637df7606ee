"""A burst of guesses gets only the allowed few checked, on either database and either cache.

Each guess comes from its own address, as from a spread-out attacker, so only the account's
own counter stands in the way; the per-address limits are tested in test_sign_in_limits.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest

from shahr.bootstrap import Container
from shahr.identity import services
from shahr.identity.domain import (
    CodeExpiredError,
    TooManySignInAttemptsError,
    TooManyWrongCodesError,
    WrongCodeError,
    WrongPasswordError,
)
from shahr.identity.gateways import ConsoleSms
from shahr.identity.services import CitizenSignedIn, StaffSignedIn
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings

from .flows import OFFICER_PASSWORD as PASSWORD
from .flows import PHONE, add_officer, code_in

BURST = 200


def address(n: int) -> str:
    return f"10.{n // 250}.{n % 250}.1"


async def ask_code(container: Container, sms: ConsoleSms) -> str:
    await services.request_sign_in_code(
        container.database,
        container.clock,
        container.rate_limiter,
        sms,
        container.settings,
        phone=PHONE,
        client_address="192.0.2.1",
    )
    return code_in(sms.sent[-1].text)


async def type_code(container: Container, code: str, *, n: int = 0) -> CitizenSignedIn:
    return await services.verify_sign_in_code(
        container.database,
        container.clock,
        None,
        container.rate_limiter,
        container.settings,
        phone=PHONE,
        code=code,
        client_address=address(n),
    )


def wrong_codes(code: str, count: int) -> list[str]:
    """`count` different codes, none of them `code`."""
    return [f"{(int(code) + i) % 10 ** len(code):0{len(code)}d}" for i in range(1, count + 1)]


def kinds(results: list[object]) -> Counter[str]:
    return Counter(type(result).__name__ for result in results)


async def test_two_hundred_concurrent_wrong_codes_leave_the_right_one_refused(
    container: Container, sms: ConsoleSms, settings: Settings
) -> None:
    code = await ask_code(container, sms)
    guesses = wrong_codes(code, BURST)

    results = await asyncio.gather(
        *(type_code(container, guess, n=n) for n, guess in enumerate(guesses)),
        return_exceptions=True,
    )

    allowed = settings.otp_max_attempts
    # Each guess was counted before it was compared: only the allowed few were compared.
    assert kinds(results) == {
        "WrongCodeError": allowed - 1,
        "TooManyWrongCodesError": BURST - (allowed - 1),
    }
    with pytest.raises(TooManyWrongCodesError) as refused:
        await type_code(container, code)
    assert refused.value.retry_after_s == settings.otp_lockout_s
    # The lock held: no write from a stale read erased it, and no new code can be asked for.
    with pytest.raises(TooManyWrongCodesError):
        await ask_code(container, sms)


async def test_two_hundred_concurrent_wrong_passwords_leave_the_right_one_refused(
    counted_container: Container,
) -> None:
    await add_officer(counted_container)

    results = await asyncio.gather(
        *(sign_in(counted_container, f"guess {n}", n=n) for n in range(BURST)),
        return_exceptions=True,
    )

    allowed = counted_container.settings.staff_failures_allowed
    assert kinds(results) == {
        "WrongPasswordError": allowed - 1,
        "TooManySignInAttemptsError": BURST - (allowed - 1),
    }
    with pytest.raises(TooManySignInAttemptsError):
        await sign_in(counted_container, PASSWORD)


async def test_a_staff_success_does_not_wipe_the_failures_of_the_window(
    counted_container: Container,
) -> None:
    await add_officer(counted_container)
    allowed = counted_container.settings.staff_failures_allowed
    for n in range(allowed - 2):
        with pytest.raises(WrongPasswordError):
            await sign_in(counted_container, "guess", n=n)

    await sign_in(counted_container, PASSWORD)

    with pytest.raises(WrongPasswordError):
        await sign_in(counted_container, "guess")
    with pytest.raises(TooManySignInAttemptsError):
        await sign_in(counted_container, "guess")


async def test_a_citizens_success_does_not_wipe_the_wrong_codes_of_the_window(
    container: Container, sms: ConsoleSms, settings: Settings
) -> None:
    code = await ask_code(container, sms)
    for guess in wrong_codes(code, settings.otp_max_attempts - 2):
        with pytest.raises(WrongCodeError):
            await type_code(container, guess)
    await type_code(container, code)

    code = await ask_code(container, sms)
    with pytest.raises(WrongCodeError) as wrong:
        await type_code(container, wrong_codes(code, 1)[0])
    assert wrong.value.params["remaining"] == 1
    with pytest.raises(TooManyWrongCodesError):
        await type_code(container, wrong_codes(code, 2)[1])


async def test_wrong_codes_stop_counting_when_their_window_closes(
    container: Container, sms: ConsoleSms, settings: Settings, clock: FixedClock
) -> None:
    code = await ask_code(container, sms)
    for guess in wrong_codes(code, settings.otp_max_attempts - 1):
        with pytest.raises(WrongCodeError):
            await type_code(container, guess)

    clock.advance(timedelta(seconds=settings.otp_lockout_s))
    code = await ask_code(container, sms)

    with pytest.raises(WrongCodeError) as wrong:
        await type_code(container, wrong_codes(code, 1)[0])
    assert wrong.value.params["remaining"] == settings.otp_max_attempts - 1


async def test_a_used_code_cannot_sign_in_twice_even_at_once(
    container: Container, sms: ConsoleSms
) -> None:
    code = await ask_code(container, sms)

    results = await asyncio.gather(
        *(type_code(container, code, n=n) for n in range(3)), return_exceptions=True
    )

    assert kinds(results) == {"CitizenSignedIn": 1, "CodeExpiredError": 2}
    assert all(isinstance(r, CitizenSignedIn | CodeExpiredError) for r in results)


async def sign_in(container: Container, password: str, *, n: int = 0) -> StaffSignedIn:
    return await services.sign_in_staff(
        container.database,
        container.clock,
        container.cache,
        container.rate_limiter,
        container.settings,
        username="officer.rahimi",
        password=password,
        client_address=address(n),
    )
