"""The app as schemathesis calls it: in-process, on a seeded city, signed in as one caller.

The app runs in schemathesis's own event loop (its ASGI client starts the lifespan there),
so the container is built here but started by the app, never by pytest's loop: database
connections belong to the loop that opened them. One app per database and one sign-in per
caller serve every operation's test (module scope), so the run costs calls, not set-ups.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from schemathesis.python import asgi

from conftest import A_TEHRAN_MORNING, DATABASES, _truncate_all
from shahr import bootstrap
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.identity.services import ensure_staff_account
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import STAFF_ROLES
from shahr.kernel.settings import Settings
from shahr.web import create_app

IDENTITY = "/api/v1/identity"
CITIZEN_PHONE = "+989121234567"
STAFF_USERNAME = "contract-admin"
STAFF_PASSWORD = "a long contract-test password"
CALLERS = ["citizen", "staff"]


def contract_settings(database_url: str, var_dir: Path) -> Settings:
    """The suite's settings (tests/conftest.py): sandbox bank, console SMS, no jobs."""
    return Settings(
        database_url=database_url,
        var_dir=var_dir,
        secret_key="test-secret-key-not-for-production",  # type: ignore[arg-type]
        demo=True,
        run_jobs=False,
        run_simulators=False,
    )


@pytest.fixture(scope="module", params=DATABASES)
def contract_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path_factory.mktemp("contract") / "shahr.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_migrated")
    asyncio.run(_truncate_all(url))
    return url


@pytest.fixture(scope="module")
def contract_app(
    contract_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FastAPI]:
    """The app over a seeded demo city with one staff account holding every staff role."""
    from shahr.demo.services import seed_demo_city

    settings = contract_settings(contract_database, tmp_path_factory.mktemp("var"))
    container = bootstrap.build(settings, clock=FixedClock(A_TEHRAN_MORNING))
    app = create_app(container)
    with asgi.get_client(app):
        portal = asgi._get_portal()
        portal.call(seed_demo_city, container)
        portal.call(
            lambda: ensure_staff_account(
                container.database,
                username=STAFF_USERNAME,
                password=STAFF_PASSWORD,
                display_name="Contract admin",
                roles=frozenset(STAFF_ROLES),
            )
        )
        yield app
    asgi.shutdown_lifespans()


@dataclass
class Caller:
    """Who the calls speak for, and how to sign in again after a call signs it out."""

    kind: str
    app: FastAPI
    headers: dict[str, str] = field(default_factory=dict)

    def sign_in(self) -> None:
        if self.kind == "citizen":
            self._post(f"{IDENTITY}/otp/request", {"phone": CITIZEN_PHONE}, 202)
            sms = self.app.state.container.get(SMS)
            assert isinstance(sms, ConsoleSms)
            code = re.search(r"[0-9]{4,}", sms.sent[-1].text)
            assert code is not None
            body = {"phone": CITIZEN_PHONE, "code": code.group()}
            token = self._post(f"{IDENTITY}/otp/verify", body, 200)["access_token"]
        elif self.kind == "staff":
            body = {"username": STAFF_USERNAME, "password": STAFF_PASSWORD}
            token = self._post(f"{IDENTITY}/staff/sign-in", body, 200)["access_token"]
        else:
            return
        self.headers = {"Authorization": f"Bearer {token}"}

    def _post(self, path: str, body: dict[str, str], status: int) -> dict[str, str]:
        # A fresh client each time: no cookie rides along, as with the generated calls.
        with asgi.get_client(self.app) as client:
            response = client.post(path, json=body)
        assert response.status_code == status, response.text
        answer: dict[str, str] = response.json()
        return answer


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest, contract_app: FastAPI) -> Caller:
    signed = Caller(request.param, contract_app)
    signed.sign_in()
    return signed
