"""Staff sign in with a username and an argon2-hashed password, and hold roles."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from shahr.bootstrap import Container
from shahr.identity.services import ensure_staff_account
from shahr.kernel.clock import FixedClock
from shahr.kernel.errors import DomainError
from shahr.kernel.principals import Role
from shahr.kernel.settings import Settings

from .flows import bearer, csrf_headers, row_counts

SIGN_IN = "/api/v1/identity/staff/sign-in"
PASSWORD = "a long demo password"


@pytest.fixture
async def officer(container: Container) -> str:
    return await ensure_staff_account(
        container.database,
        username="Officer.Rahimi",
        password=PASSWORD,
        display_name="مریم رحیمی",
        roles=frozenset({Role.enforcement_officer, Role.parking_operator}),
    )


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post(
        SIGN_IN,
        json={"username": username, "password": password},
        headers=await csrf_headers(client),
    )


async def test_staff_sign_in_returns_a_token_carrying_the_accounts_roles(
    client: httpx.AsyncClient, officer: str
) -> None:
    response = await sign_in(client, " officer.rahimi ", PASSWORD)

    assert response.status_code == 200
    body = response.json()
    assert body["staff"]["id"] == officer
    assert body["staff"]["roles"] == ["enforcement_officer", "parking_operator"]
    client.cookies.clear()
    me = await client.get("/api/v1/identity/me", headers=bearer(body["access_token"]))
    assert me.json() == {
        "id": officer,
        "kind": "staff",
        "display_name": "مریم رحیمی",
        "roles": ["enforcement_officer", "parking_operator"],
    }


async def test_a_staff_member_may_not_use_admin_routes_without_the_admin_role(
    client: httpx.AsyncClient, officer: str
) -> None:
    await sign_in(client, "officer.rahimi", PASSWORD)
    response = await client.get("/api/v1/identity/api-keys")
    assert response.status_code == 403


async def test_a_wrong_password_and_an_unknown_username_get_the_same_generic_error(
    client: httpx.AsyncClient, officer: str, container: Container
) -> None:
    before = await row_counts(container)
    wrong_password = await sign_in(client, "officer.rahimi", "not the password")
    unknown_user = await sign_in(client, "nobody", PASSWORD)

    for response in (wrong_password, unknown_user):
        assert response.status_code == 400
        assert response.json()["detail"] == "نام کاربری یا رمز عبور نادرست است."
        assert response.json()["code"] == "WrongPasswordError"
    assert wrong_password.json() | {"instance": ""} == unknown_user.json() | {"instance": ""}
    assert await row_counts(container) == before


async def test_repeated_wrong_passwords_lock_the_username_out_and_say_when(
    client: httpx.AsyncClient, officer: str, clock: FixedClock, settings: Settings
) -> None:
    for _ in range(settings.staff_failures_allowed - 1):
        assert (await sign_in(client, "officer.rahimi", "guess")).status_code == 400

    locked = await sign_in(client, "officer.rahimi", "guess")

    assert locked.status_code == 429
    assert locked.json()["retry_after_s"] == settings.staff_lockout_s
    assert locked.json()["detail"] == (
        "تلاش ناموفق برای ورود بیش از حد شد. ۱۵ دقیقهٔ دیگر دوباره تلاش کنید."
    )
    # Even the right password is refused until the lockout ends, so guessing gains nothing.
    assert (await sign_in(client, "officer.rahimi", PASSWORD)).status_code == 429
    clock.advance(timedelta(seconds=settings.staff_lockout_s))
    assert (await sign_in(client, "officer.rahimi", PASSWORD)).status_code == 200


async def test_passwords_are_stored_as_argon2id_hashes(container: Container, officer: str) -> None:
    async with container.database.session() as session:
        stored = (
            await session.execute(text("SELECT password_hash FROM identity_staff"))
        ).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_ensuring_a_staff_account_twice_keeps_one_and_updates_roles_and_password(
    client: httpx.AsyncClient, container: Container, officer: str
) -> None:
    again = await ensure_staff_account(
        container.database,
        username="officer.rahimi",
        password="a new password",
        display_name="Maryam Rahimi",
        roles=frozenset({Role.admin}),
    )

    assert again == officer
    counts = await row_counts(container)
    assert counts["identity_staff"] == 1
    assert counts["identity_staff_role"] == 1
    assert (await sign_in(client, "officer.rahimi", PASSWORD)).status_code == 400
    response = await sign_in(client, "officer.rahimi", "a new password")
    assert response.json()["staff"]["roles"] == ["admin"]
    assert response.json()["staff"]["display_name"] == "Maryam Rahimi"


async def test_a_staff_account_cannot_be_given_the_citizen_role(container: Container) -> None:
    with pytest.raises(DomainError):
        await ensure_staff_account(
            container.database,
            username="x",
            password=PASSWORD,
            display_name="X",
            roles=frozenset({Role.citizen}),
        )
    assert (await row_counts(container))["identity_staff"] == 0
