"""Accounts, the admin's screen: staff accounts with roles and lockouts, and citizens with a
masked phone number and their vehicles, searched and paged; for admins only.

Over accounts made through identity's own services; one staff account is locked out by
wrong passwords as the sign-in counts them. The caller's role is named by a test header, as
in `test_access_walk`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.identity import queries, services
from shahr.kernel.cache import Cache
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.web import create_app

PAGE = "/staff/admin/accounts"
CSRF = "a" * 43


@pytest.fixture
async def accounts(container: Container, clock: FixedClock) -> Container:
    """Two staff accounts (one locked out) and three citizens, the first with two vehicles."""
    database = container.database
    await services.ensure_staff_account(
        database,
        username="officer.rahimi",
        password="a long demo password",
        display_name="مریم رحیمی",
        roles=frozenset({Role.enforcement_officer, Role.parking_operator}),
    )
    await services.ensure_staff_account(
        database,
        username="admin.karimi",
        password="another long password",
        display_name="Reza Karimi",
        roles=frozenset({Role.admin}),
    )
    for _ in range(container.settings.staff_failures_allowed):
        with pytest.raises(DomainError):
            await services.sign_in_staff(
                database,
                clock,
                container.cache,
                container.rate_limiter,
                container.settings,
                username="officer.rahimi",
                password="wrong",
                client_address="10.0.0.1",
            )
    for n, (phone, name) in enumerate(
        [("09121234567", "سارا"), ("09351112233", "Ali"), ("09190000000", "نرگس")]
    ):
        clock.advance(timedelta(minutes=1))
        citizen = await services.ensure_citizen(
            database, phone=phone, display_name=name, clock=container.clock
        )
        if n == 0:
            for plate in ("12B345-67", "23J456-78"):
                await services.register_vehicle(
                    database, clock, None, citizen_id=citizen, plate=plate, kind="car"
                )
    return container


@pytest.fixture
async def http(accounts: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(accounts)

    async def resolve(request: Request) -> Principal | None:
        role = request.headers.get("x-test-role")
        if not role:
            return None
        kind = "citizen" if role == "citizen" else "staff"
        return Principal(f"{role}-1", kind, "Admin", frozenset({Role(role)}))

    accounts.resolve_principal = resolve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client


def as_role(role: Role, lang: str = "fa") -> dict[str, str]:
    return {"x-test-role": role.value, "cookie": f"{LANGUAGE_COOKIE}={lang}; {CSRF_COOKIE}={CSRF}"}


ADMIN_EN = as_role(Role.admin, "en")


def staff_listed(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-username="([^"]+)" data-locked="(\w+)"', html))


def citizens_listed(html: str) -> list[tuple[str, str]]:
    """Each listed citizen's vehicle count and name, newest first."""
    return re.findall(r'data-vehicles="(\d+)">\s*<td><bdi>([^<]+)</bdi>', html)


async def test_an_admin_sees_staff_accounts_with_roles_and_who_is_locked_out(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(PAGE, headers=ADMIN_EN)
    assert response.status_code == 200
    assert staff_listed(response.text) == {"admin.karimi": "false", "officer.rahimi": "true"}
    assert "Locked out" in response.text
    assert "Enforcement officer" in response.text
    assert "Parking operator" in response.text
    assert "password" not in response.text.lower().split("<main", 1)[1]


async def test_citizens_are_listed_with_a_masked_phone_and_their_vehicle_count(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(PAGE, params={"who": "citizens"}, headers=ADMIN_EN)
    assert response.status_code == 200
    rows = {name: count for count, name in citizens_listed(response.text)}
    assert rows == {"سارا": "2", "Ali": "0", "نرگس": "0"}
    assert "0912***4567" in response.text
    assert "09121234567" not in response.text
    assert "1234567" not in response.text


async def test_the_persian_page_shows_persian_digits_in_the_masked_phone(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(PAGE, params={"who": "citizens"}, headers=as_role(Role.admin))
    assert "۰۹۱۲***۴۵۶۷" in response.text
    assert "حساب‌ها" in response.text


SEARCHES = [
    ("staff", "rahimi", ["officer.rahimi"]),
    ("staff", "Karimi", ["admin.karimi"]),
    ("citizens", "۰۹۳۵۱", ["Ali"]),
    ("citizens", "+98 912", ["سارا"]),
    ("citizens", "نرگس", ["نرگس"]),
    ("citizens", "100%", []),
]


async def test_the_search_finds_by_username_name_or_part_of_a_phone_number(
    http: httpx.AsyncClient,
) -> None:
    # One setup for every search: each account costs a password hash.
    for who, search, found in SEARCHES:
        response = await http.get(PAGE, params={"who": who, "q": search}, headers=ADMIN_EN)
        assert response.status_code == 200
        if who == "staff":
            assert list(staff_listed(response.text)) == found, search
        else:
            assert [name for _, name in citizens_listed(response.text)] == found, search


BAD_INPUT = [
    ({"q": "x" * 2000}, "q", "Search for at most 60 characters."),
    ({"page": "-1"}, "page", "The page number is a whole number from 1 up."),
    ({"who": "robots"}, "who", "Choose staff or citizens."),
]


async def test_a_search_that_cannot_be_read_is_said_and_the_list_shown_without_it(
    http: httpx.AsyncClient,
) -> None:
    for params, field, message in BAD_INPUT:
        response = await http.get(PAGE, params=params, headers=ADMIN_EN)
        assert response.status_code == 400
        assert f'id="{field}-error" role="alert">{message}<' in response.text
        assert len(staff_listed(response.text)) == 2


async def test_the_lists_page_through_accounts(accounts: Container) -> None:
    first = await queries.citizen_lines(accounts.database, page=1, per_page=2)
    last = await queries.citizen_lines(accounts.database, page=7, per_page=2)
    assert (first.total, first.pages, len(first.lines), last.page, len(last.lines)) == (
        3,
        2,
        2,
        2,
        1,
    )


async def test_only_an_admin_may_open_the_accounts(http: httpx.AsyncClient) -> None:
    for role in (Role.citizen, Role.parking_operator, Role.traffic_operator, Role.police_unit):
        assert (await http.get(PAGE, headers=as_role(role))).status_code == 403, role
    assert (await http.get(PAGE, headers={"accept": "text/html"})).status_code == 303


async def test_a_lockout_is_read_from_the_sign_ins_own_count_whatever_the_usernames_case(
    accounts: Container,
) -> None:
    cache: Cache = accounts.cache
    # Locked out at the start; the citizens were made three (fixed-clock) minutes later.
    settings = accounts.settings
    left = settings.staff_lockout_s - 3 * 60
    assert await services.locked_out_for_s(cache, settings, " Officer.Rahimi ") == left
    assert await services.locked_out_for_s(cache, settings, "admin.karimi") is None
