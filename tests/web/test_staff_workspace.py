"""The staff shell: /staff lists the tools of the member's roles, every staff page carries
the staff header, and a refused page says which role would open it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import Depends, FastAPI, Request, Response

from shahr.bootstrap import Container
from shahr.identity.gateways import SMS, ConsoleSms
from shahr.identity.services.accounts import ensure_staff_account
from shahr.kernel.access import Admits
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.deps import TemplatesDep
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.kernel.workspace import StaffTool, Workspace

from .pagescan import read

STAFF_TOOLS_FA = "ابزارهای کارکنان"
MENU_FA = "منوی اصلی"
METERS = StaffTool(
    href="/staff/test-meters",
    title="Meters",
    summary="Every meter with its live light.",
    roles=frozenset({Role.parking_operator}),
    area="parking",
)
DETECTORS = StaffTool(
    href="/staff/test-detectors",
    title="Detector health",
    summary="Detectors that stopped reporting.",
    roles=frozenset({Role.traffic_operator}),
    area="traffic",
)


def member(role: Role, name: str = "Sara") -> Principal:
    kind = "citizen" if role is Role.citizen else "staff"
    return Principal(id=f"{role.value}-1", kind=kind, display_name=name, roles=frozenset({role}))


@pytest.fixture
def workspace_app(app: FastAPI, container: Container) -> FastAPI:
    """The shell with two staff tools, as two areas would wire them, and one tool's page.

    The areas' own tools are set aside, so the header lists exactly these two.
    """
    container.workspace = Workspace()
    container.workspace.add(METERS)
    container.workspace.add(DETECTORS)

    @app.get(METERS.href, dependencies=[Depends(Admits(Role.parking_operator, Role.admin))])
    async def meters(request: Request, templates: TemplatesDep) -> Response:
        return templates.render(request, "shell/staff.html")

    return app


@pytest.fixture
async def staff_http(workspace_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=workspace_app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def sign_in_as(container: Container) -> Callable[[Principal | None], None]:
    """Let every request speak for the given principal (the identity resolver, faked)."""

    def resolve_as(principal: Principal | None) -> None:
        async def resolver(_request: Request) -> Principal | None:
            return principal

        container.resolve_principal = resolver

    return resolve_as


async def test_a_visitor_at_the_workspace_is_sent_to_the_staff_sign_in_and_back(
    staff_http: httpx.AsyncClient,
) -> None:
    response = await staff_http.get("/staff")

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/sign-in?next=%2Fstaff"


async def test_a_citizen_at_the_workspace_gets_the_403_page_with_the_menu_naming_staff(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.citizen, "0912***4567"))

    response = await staff_http.get("/staff", headers={"accept": "text/html"})

    assert response.status_code == 403
    assert response.headers["content-language"] == "fa"
    html = response.text
    assert "این صفحه برای این نقش‌هاست: کارکنان شهرداری." in html
    assert "۴۰۳" in html
    page = read(html)
    assert len(page.in_nav(MENU_FA)) == 5
    assert 'action="/sign-out"' in html
    assert 'href="/lang/en?next=/staff"' in html
    assert 'href="/staff/sign-in?next=/staff"' in html


async def test_a_parking_operator_sees_only_the_tools_of_the_role(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.parking_operator))

    response = await staff_http.get("/staff")

    assert response.status_code == 200
    html = response.text
    assert "میز کار شما" in html
    page = read(html)
    header = [(link.href, link.attrs.get("aria-current")) for link in page.in_nav(STAFF_TOOLS_FA)]
    assert header == [("/staff", "page"), (METERS.href, None)]
    assert [link.href for link in page.links if "tool" in link.item_classes] == [METERS.href]
    assert "Every meter with its live light." in html
    assert "برای: اپراتور پارک" in html
    # Staff pages have the staff header instead of the citizen menu.
    assert page.in_nav(MENU_FA) == []
    assert re.search(r'<form class="sign-out" method="post" action="/sign-out">', html)
    assert 'href="/lang/en?next=/staff"' in html


async def test_an_administrator_sees_every_tool(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.admin))

    page = read((await staff_http.get("/staff")).text)

    assert [link.href for link in page.in_nav(STAFF_TOOLS_FA)] == [
        "/staff",
        METERS.href,
        DETECTORS.href,
    ]


async def test_a_tool_page_marks_itself_in_the_staff_header(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.parking_operator))

    page = read((await staff_http.get(METERS.href)).text)

    marked = [link.href for link in page.in_nav(STAFF_TOOLS_FA) if link.attrs.get("aria-current")]
    assert marked == [METERS.href]


async def test_a_tool_of_another_role_is_refused_naming_the_roles_that_may_open_it(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.traffic_operator))

    response = await staff_http.get(METERS.href, headers={"accept": "text/html"})

    assert response.status_code == 403
    html = response.text
    assert "این صفحه برای این نقش‌هاست: اپراتور پارک، مدیر سامانه." in html
    # The staff header stays: the member's own tools, the language switch and sign-out.
    assert [link.href for link in read(html).in_nav(STAFF_TOOLS_FA)] == ["/staff", DETECTORS.href]
    assert 'action="/sign-out"' in html
    assert 'href="/staff"' in html


async def test_the_workspace_reads_in_english_with_english_role_names(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.traffic_operator))

    html = (await staff_http.get("/staff", headers={"cookie": f"{LANGUAGE_COOKIE}=en"})).text

    assert "Your workspace" in html
    assert "Your role: Traffic operator." in html
    assert 'title="Traffic operator"' in html
    without_switch = re.sub(r'<[^>]*lang="fa"[^>]*>فارسی</[a-z]+>', "", html)
    assert re.findall(r"[\u0600-\u06ff]+", without_switch) == []


async def test_the_api_still_answers_a_refusal_in_problem_json(
    staff_http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(member(Role.citizen))

    response = await staff_http.get("/staff", headers={"accept": "application/json"})

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


# --- signing in and out for real, through identity's pages --------------------------------


async def post_form(client: httpx.AsyncClient, path: str, **fields: str) -> httpx.Response:
    if CSRF_COOKIE not in client.cookies:
        await client.get("/staff/sign-in")
    return await client.post(path, data={"csrf_token": client.cookies[CSRF_COOKIE], **fields})


async def test_staff_land_on_the_workspace_and_sign_out_to_the_staff_sign_in(
    client: httpx.AsyncClient, container: Container
) -> None:
    await ensure_staff_account(
        container.database,
        username="operator",
        password="operator password",
        display_name="Operator",
        roles=frozenset({Role.traffic_operator}),
    )

    signed_in = await post_form(
        client, "/staff/sign-in", username="operator", password="operator password"
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/staff"
    workspace = await client.get("/staff")
    assert workspace.status_code == 200
    assert 'title="اپراتور ترافیک"' in workspace.text

    signed_out = await post_form(client, "/sign-out")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/staff/sign-in"
    assert (await client.get("/staff")).status_code == 303


async def test_a_citizen_signs_out_to_the_home_page(
    client: httpx.AsyncClient, container: Container
) -> None:
    sms = container.get(SMS)
    assert isinstance(sms, ConsoleSms)
    await post_form(client, "/sign-in", phone="0912 123 4567")
    code = re.findall(r"[0-9]{4,}", sms.sent[-1].text)[-1]
    signed_in = await post_form(client, "/sign-in/code", phone="+989121234567", code=code)
    assert signed_in.headers["location"] == "/account"

    signed_out = await post_form(client, "/sign-out")

    assert signed_out.headers["location"] == "/"
    assert (await client.get("/account")).status_code == 303
