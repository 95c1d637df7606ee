"""The citizen menu on every page, the home page's cards and the "More" page."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.navigation import citizen_menu, section_of
from shahr.kernel.web.security import LANGUAGE_COOKIE

from .pagescan import read

MENU_FA = "منوی اصلی"
MENU_EN = "Main menu"
CITIZEN = Principal(
    id="citizen-1",
    kind="citizen",
    display_name="0912***4567",
    roles=frozenset({Role.citizen}),
)


@pytest.fixture
def sign_in_as(container: Container) -> Callable[[Principal | None], None]:
    """Let every request speak for the given principal (the identity resolver, faked)."""

    def resolve_as(principal: Principal | None) -> None:
        async def resolver(_request: Request) -> Principal | None:
            return principal

        container.resolve_principal = resolver

    return resolve_as


def persian_letters(text: str) -> list[str]:
    return re.findall(r"[\u0600-\u06ff]+", text)


async def test_every_page_has_the_menu_with_its_five_items_in_order(
    http: httpx.AsyncClient,
) -> None:
    for path in ("/", "/more", "/sign-in", "/staff/sign-in", "/api/docs", "/no-such-page"):
        page = read((await http.get(path, headers={"accept": "text/html"})).text)

        menu = page.in_nav(MENU_FA)
        assert [(link.href, link.text) for link in menu] == [
            ("/parking", "پارک"),
            ("/parking/my", "پارک‌های من"),
            ("/wallet", "کیف پول"),
            ("/traffic", "ترافیک"),
            ("/more", "بیشتر"),
        ], path


async def test_the_menu_marks_the_page_the_reader_is_on(http: httpx.AsyncClient) -> None:
    more = read((await http.get("/more")).text).in_nav(MENU_FA)
    home = read((await http.get("/")).text).in_nav(MENU_FA)

    assert [link.attrs.get("aria-current") for link in more] == [None, None, None, None, "page"]
    assert [link.attrs.get("aria-current") for link in home] == [None] * 5


@pytest.mark.parametrize(
    ("path", "section", "current"),
    [
        ("/parking", "parking", "page"),
        ("/parking/meters/12", "parking", "true"),
        ("/parking/my", "my-parking", "page"),
        ("/parking/reservations/abc", "my-parking", "true"),
        ("/wallet", "wallet", "page"),
        ("/payments/p-1/receipt", "wallet", "true"),
        ("/traffic", "traffic", "page"),
        ("/account", "more", "true"),
        ("/parkingfoo", None, ""),
        ("/", None, ""),
    ],
)
def test_a_page_inside_a_section_keeps_its_item_marked(
    path: str, section: str | None, current: str
) -> None:
    assert section_of(path) == section
    marked = [entry for entry in citizen_menu(path) if entry.current]
    assert [(entry.key, entry.current) for entry in marked] == (
        [(section, current)] if section else []
    )


async def test_the_menu_reads_in_english_on_english_pages(http: httpx.AsyncClient) -> None:
    response = await http.get("/more", headers={"cookie": f"{LANGUAGE_COOKIE}=en"})

    menu = read(response.text).in_nav(MENU_EN)
    assert [link.text for link in menu] == ["Parking", "My parking", "Wallet", "Traffic", "More"]


async def test_the_home_page_cards_link_to_what_works_and_say_what_comes_later(
    http: httpx.AsyncClient,
) -> None:
    html = (await http.get("/")).text
    cards = re.findall(r'<li class="service ([^"]*)">(.*?)</li>', html, re.S)
    by_name = {classes.split()[0]: body for classes, body in cards}

    links = {name: re.findall(r'href="([^"]+)"', body) for name, body in by_name.items()}
    assert links == {
        "service-parking": ["/parking"],
        "service-traffic": ["/traffic"],
        "service-wallet": ["/wallet"],
        "service-open-data": ["/api/docs"],
        "service-air": [],
        "service-reports": [],
        "service-contracts": [],
    }
    for name in ("service-air", "service-reports", "service-contracts"):
        assert "به‌زودی" in by_name[name]
        assert "<a" not in by_name[name]


async def test_the_more_page_lists_account_language_api_docs_later_services_and_staff(
    http: httpx.AsyncClient,
) -> None:
    page = read((await http.get("/more")).text)
    hrefs = [link.href for link in page.links if not link.nav]

    assert "/sign-in" in hrefs
    assert "/lang/en?next=/more" in hrefs
    assert "/api/docs" in hrefs
    assert "/staff/sign-in" in hrefs
    html = (await http.get("/more")).text
    for later in ("کیفیت هوا", "گزارش مردمی", "قراردادهای شهرداری"):
        assert later in html


async def test_a_signed_in_citizen_sees_the_number_in_persian_digits_and_can_sign_out(
    http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(CITIZEN)

    html = (await http.get("/more")).text

    assert '<a href="/account" class="account"><bdi>۰۹۱۲***۴۵۶۷</bdi></a>' in html
    # Sign-out is a form that posts the page's token, in the top bar and on the page.
    forms = re.findall(r'<form[^>]*action="/sign-out"[^>]*>(.*?)</form>', html, re.S)
    assert len(forms) == 2
    assert all('name="csrf_token"' in form for form in forms)
    assert "/account" in [link.href for link in read(html).links if not link.nav]


async def test_the_english_shell_shows_no_persian_but_the_way_back_to_persian(
    http: httpx.AsyncClient, sign_in_as: Callable[[Principal | None], None]
) -> None:
    sign_in_as(CITIZEN)
    english = {"cookie": f"{LANGUAGE_COOKIE}=en"}

    for path in ("/", "/more", "/sign-in", "/staff/sign-in", "/no-such-page"):
        html = (await http.get(path, headers={**english, "accept": "text/html"})).text
        # The one Persian word is the switch to Persian, marked as Persian.
        without_switch = re.sub(r'<[^>]*lang="fa"[^>]*>فارسی</[a-z]+>', "", html)
        assert persian_letters(without_switch) == [], path
