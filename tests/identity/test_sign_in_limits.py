"""One address may knock on the sign-in doors only so often; another address is still served.

The app here runs with small limits so each test knocks a few times, not the defaults'
dozens; the door and the numbers come from settings either way.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from shahr.bootstrap import Container
from shahr.identity import services
from shahr.identity.domain import WrongPasswordError
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.identity.services.hashing import password_matches
from shahr.kernel.clock import FixedClock
from shahr.kernel.settings import Settings
from shahr.kernel.web.security import CSRF_COOKIE

from .flows import OFFICER_PASSWORD as PASSWORD
from .flows import add_officer, code_in, csrf_headers, wrong_code

REQUEST = "/api/v1/identity/otp/request"
VERIFY = "/api/v1/identity/otp/verify"
STAFF = "/api/v1/identity/staff/sign-in"
FROM_ADDRESS_FA = "تلاش برای ورود از اتصال شما بیش از حد شد. ۱۰ دقیقهٔ دیگر دوباره تلاش کنید."


@pytest.fixture
async def tight(settings: Settings, clock: FixedClock) -> AsyncIterator[Container]:
    from shahr import bootstrap

    small = settings.model_copy(
        update={
            "otp_requests_per_address": 3,
            "otp_verifies_per_address": 4,
            "otp_verifies_per_address_and_phone": 2,
            "staff_sign_ins_per_address": 3,
            "staff_sign_ins_per_address_and_username": 2,
        }
    )
    built = bootstrap.build(small, clock=clock)
    await built.start()
    await add_officer(built)
    yield built
    await built.stop()


@pytest.fixture
async def clients(tight: Container) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two browsers on two addresses, over the same app."""
    from shahr.web import create_app

    app = create_app(tight)
    here = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    there = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with (
        httpx.AsyncClient(transport=here, base_url="https://testserver") as first,
        httpx.AsyncClient(transport=there, base_url="https://testserver") as second,
    ):
        yield first, second


def phone(n: int) -> str:
    return f"+98912000{n:04d}"


async def post(client: httpx.AsyncClient, path: str, body: dict[str, str]) -> httpx.Response:
    return await client.post(path, json=body, headers=await csrf_headers(client))


def assert_refused_for_the_address(response: httpx.Response, settings: Settings) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(settings.sign_in_address_window_s)
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "TooManyFromAddressError"
    assert problem["detail"] == FROM_ADDRESS_FA
    assert problem["retry_after_s"] == settings.sign_in_address_window_s


async def test_one_address_may_have_codes_sent_to_only_so_many_numbers(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], tight: Container
) -> None:
    here, there = clients
    sms = tight.get(SMS)
    assert isinstance(sms, ConsoleSms)
    for n in range(tight.settings.otp_requests_per_address):
        assert (await post(here, REQUEST, {"phone": phone(n)})).status_code == 202

    refused = await post(here, REQUEST, {"phone": phone(99)})

    assert_refused_for_the_address(refused, tight.settings)
    assert problem_field(refused) == "phone"
    assert all(message.to != phone(99) for message in sms.sent)
    assert (await post(there, REQUEST, {"phone": phone(99)})).status_code == 202


async def test_one_address_may_type_codes_for_a_phone_only_so_often(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], tight: Container
) -> None:
    here, there = clients
    sms = tight.get(SMS)
    assert isinstance(sms, ConsoleSms)
    await post(here, REQUEST, {"phone": phone(1)})
    code = code_in(sms.sent[-1].text)
    for _ in range(tight.settings.otp_verifies_per_address_and_phone):
        wrong = await post(here, VERIFY, {"phone": phone(1), "code": wrong_code(code)})
        assert wrong.status_code == 400

    refused = await post(here, VERIFY, {"phone": phone(1), "code": code})

    assert_refused_for_the_address(refused, tight.settings)
    # The phone itself is not locked: from another address its code still signs in.
    assert (await post(there, VERIFY, {"phone": phone(1), "code": code})).status_code == 200


async def test_one_address_may_try_only_so_many_staff_sign_ins(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], tight: Container
) -> None:
    here, there = clients
    for n in range(tight.settings.staff_sign_ins_per_address):
        wrong = await post(here, STAFF, {"username": f"nobody.{n}", "password": "guess"})
        assert wrong.status_code == 400

    refused = await post(here, STAFF, {"username": "officer.rahimi", "password": PASSWORD})

    assert_refused_for_the_address(refused, tight.settings)
    assert problem_field(refused) == "password"
    signed_in = await post(there, STAFF, {"username": "officer.rahimi", "password": PASSWORD})
    assert signed_in.status_code == 200


async def test_one_address_may_try_one_username_only_so_often(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], tight: Container
) -> None:
    here, there = clients
    for _ in range(tight.settings.staff_sign_ins_per_address_and_username):
        wrong = await post(here, STAFF, {"username": "officer.rahimi", "password": "guess"})
        assert wrong.status_code == 400

    refused = await post(here, STAFF, {"username": "Officer.Rahimi", "password": PASSWORD})

    assert_refused_for_the_address(refused, tight.settings)
    signed_in = await post(there, STAFF, {"username": "officer.rahimi", "password": PASSWORD})
    assert signed_in.status_code == 200


async def test_the_staff_sign_in_page_says_so_beside_the_password_in_english_too(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], tight: Container
) -> None:
    here, _ = clients
    here.cookies.set("lang", "en")
    await here.get("/staff/sign-in")
    for n in range(tight.settings.staff_sign_ins_per_address + 1):
        response = await here.post(
            "/staff/sign-in",
            data={
                "csrf_token": here.cookies[CSRF_COOKIE],
                "username": f"nobody.{n}",
                "password": "guess",
            },
        )

    assert response.status_code == 429
    assert response.headers["retry-after"] == str(tight.settings.sign_in_address_window_s)
    error = re.search(r'id="password-error" role="alert">([^<]*)<', response.text)
    assert error is not None, response.text
    assert error.group(1) == (
        "Too many sign-in attempts came from your connection. Try again in 10 minutes."
    )


async def test_the_password_is_checked_with_no_database_connection_held(
    container: Container,
) -> None:
    await add_officer(container)
    pool = container.database.engine.pool
    held_while_hashing: list[int] = []

    async def watched_check(stored: str, typed: str) -> bool:
        held_while_hashing.append(pool.checkedout())  # type: ignore[attr-defined]  # QueuePool
        return await password_matches(stored, typed)

    async def sign_in(password: str) -> services.StaffSignedIn:
        return await services.sign_in_staff(
            container.database,
            container.clock,
            container.cache,
            container.rate_limiter,
            container.settings,
            username="officer.rahimi",
            password=password,
            client_address="192.0.2.1",
            password_check=watched_check,
        )

    with pytest.raises(WrongPasswordError):
        await sign_in("guess")
    assert (await sign_in(PASSWORD)).staff.username == "officer.rahimi"

    assert held_while_hashing == [0, 0]


def problem_field(response: httpx.Response) -> str:
    field: str = response.json()["field"]
    return field
