"""Every page a citizen or staff member reaches reads in one language and one money unit.

Rendered over the seeded demo city after a citizen's parking journey (a stay booked from
the wallet and ended early, a top-up paid at the sandbox bank), in Persian and in English:

- a Persian page's visible text has no ASCII digits, an English page's no Persian letters;
- every amount is in Toman first; Rial appears only on the receipt and the bank's pages,
  right after the Toman;
- the wallet names the bay and street each line paid for, a stay ended early shows when it
  ended, and the tariff is named by its year and version (saying when it is an older year's).

Visible text is what a reader sees: text nodes outside <script>, <style> and <template>, and
fields' placeholders; no other attributes. What is deliberately kept is allowed, listed here:
- on Persian pages, text inside an element marked `translate="no"` (HTML's own mark for
  "not language text"): payment numbers, references and meters' device ids, identifiers
  a citizen quotes back to support, or matches to a label, exactly as printed;
- on Persian pages, "CVV2", the card code's name as every Iranian bank prints it, and a few
  other Latin terms of art (listed in PERSIAN_PAGE_LATIN_TERMS); no other English word;
- on English pages, the language switch's "فارسی", and the Persian on a plate (a plate is
  shown as the metal reads, with its English reading beside it).
The signed-in citizen is named as sign-in by SMS names them, by the masked phone number.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from html.parser import HTMLParser
from types import SimpleNamespace

import httpx
import pytest
from fastapi import Request
from jinja2 import DictLoader

from shahr.bootstrap import Container
from shahr.demo.domain import DEMO_CITIZEN_PHONE
from shahr.demo.services import seed_demo_city
from shahr.identity import services as identity_services
from shahr.identity.domain import mask_phone
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal, Role
from shahr.kernel.settings import Settings
from shahr.kernel.web import i18n
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.kernel.web.templating import build_environment
from shahr.traffic.queries.indices import DistrictCard
from shahr.web import create_app

CSRF = "m" * 43
ASCII_DIGIT = re.compile(r"[0-9]")
PERSIAN_LETTER = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
SKIPPED_ELEMENTS = {"script", "style", "template", "noscript"}
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                 "source", "track", "wbr"}  # fmt: skip
# Latin terms a Persian page keeps on purpose: the card code's name as banks print it, the
# check card numbers pass, "API", the switch to English (named in English), and the level of
# service grades A to F (an international scale), and the photo formats a permit may be sent in.
PERSIAN_PAGE_KEEPS = ("CVV2",)
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
PERSIAN_PAGE_LATIN_TERMS = {
    *("CVV2", "Luhn", "API", "English", "JPEG", "PNG"),
    *("A", "B", "C", "D", "E", "F"),
}
# Persian words an English page keeps on purpose: the switch to Persian, named in Persian.
ENGLISH_PAGE_ALLOWED = {"فارسی"}
# Elements whose Persian an English page keeps: the plate, shown as the metal reads.
ENGLISH_PAGE_KEEPS_CLASSES = {"plate"}


@dataclass(frozen=True)
class Run:
    """A piece of visible text and whether it sits where the rules allow other script."""

    text: str
    kept_as_typed: bool
    plate: bool


class VisibleText(HTMLParser):
    """The text a reader sees, each run marked with where it sits."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool, bool]] = []
        self.runs: list[Run] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        parent = self.stack[-1] if self.stack else (tag, False, False, False)
        here = (
            tag,
            parent[1] or tag in SKIPPED_ELEMENTS,
            parent[2] or found.get("translate") == "no",
            parent[3] or bool(classes & ENGLISH_PAGE_KEEPS_CLASSES),
        )
        # A field's placeholder is read on screen like text, though it is an attribute.
        placeholder = (found.get("placeholder") or "").strip()
        if placeholder and not here[1]:
            self.runs.append(Run(placeholder, here[2], here[3]))
        if tag not in VOID_ELEMENTS:
            self.stack.append(here)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not data.strip():
            return
        _, skipped, kept, plate = self.stack[-1] if self.stack else ("", False, False, False)
        if not skipped:
            self.runs.append(Run(data.strip(), kept, plate))


def visible_runs(html: str) -> list[Run]:
    parser = VisibleText()
    parser.feed(html)
    return parser.runs


def ascii_digits_on_persian_page(html: str) -> list[str]:
    def stripped(text: str) -> str:
        for term in PERSIAN_PAGE_KEEPS:
            text = text.replace(term, "")
        return text

    runs = visible_runs(html)
    return [r.text for r in runs if not r.kept_as_typed and ASCII_DIGIT.search(stripped(r.text))]


def english_on_persian_page(html: str) -> list[str]:
    runs = [r.text for r in visible_runs(html) if not r.kept_as_typed]
    return [
        w for text in runs for w in LATIN_WORD.findall(text) if w not in PERSIAN_PAGE_LATIN_TERMS
    ]


def persian_on_english_page(html: str) -> list[str]:
    return [
        r.text
        for r in visible_runs(html)
        if not r.plate and r.text not in ENGLISH_PAGE_ALLOWED and PERSIAN_LETTER.search(r.text)
    ]


def visible_text(html: str) -> str:
    return " ".join(r.text for r in visible_runs(html))


# --- the demo city after one citizen's journey --------------------------------------------------


PLATE = "12B345-67"
DAY = "2026-11-26"  # the tests' Thursday, 5 Azar 1405; the clock reads 10:00 in Tehran
LANGUAGES = ("fa", "en")
# Pages that show amounts, and the three that add the exact Rial after the Toman.
MONEY_PAGES = ("parking map", "meter", "quote", "reservation", "my parking", "wallet", "receipt")
RIAL_BESIDE_TOMAN = ("receipt", "bank", "sandbox console")
UNITS = {"fa": ("تومان", "ریال"), "en": ("Toman", "Rial")}


def caller(request: Request) -> Principal | None:
    """Who the test says is calling: a citizen (by id) or a staff role."""
    citizen = request.headers.get("x-test-citizen")
    if citizen:
        name = mask_phone("+98" + DEMO_CITIZEN_PHONE[1:])  # what sign-in by SMS calls one
        return Principal(
            id=citizen, kind="citizen", display_name=name, roles=frozenset({Role.citizen})
        )
    role = request.headers.get("x-test-staff")
    if role:
        return Principal(
            id=f"{role}-1", kind="staff", display_name="Admin", roles=frozenset({Role(role)})
        )
    return None


def hidden(html: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)">', html)
    assert found is not None, f"no hidden {name}"
    return found.group(1)


class Pages(dict[str, dict[str, str]]):
    """Each page by name, rendered in each language when the journey passed it."""

    async def keep(
        self, http: httpx.AsyncClient, name: str, path: str, status: int = 200, **headers: str
    ) -> str:
        for language in LANGUAGES:
            http.cookies.set(LANGUAGE_COOKIE, language)
            response = await http.get(path, headers=headers)
            assert response.status_code == status, f"{name} ({path}): {response.status_code}"
            self.setdefault(name, {})[language] = response.text
        http.cookies.set(LANGUAGE_COOKIE, "fa")
        return self[name]["fa"]


async def first_bookable_bay(http: httpx.AsyncClient) -> tuple[str, str]:
    """The first meter the map lists and a free bay on it."""
    listing = (await http.get("/parking", params={"day": DAY, "start": "11:00"})).text
    meter = re.findall(r'data-meter-id="(\d+)"', listing)[0]
    page = (await http.get(f"/parking/meters/{meter}", params={"day": DAY, "start": "11:00"})).text
    bay = re.findall(r'name="bay" value="(\d+)"', page)[0]
    return meter, bay


async def book_and_end_early(
    container: Container, clock: FixedClock, http: httpx.AsyncClient, pages: Pages
) -> str:
    """Quote a bay 11:00-13:00, pay from the wallet, end the stay at 11:10; the stay's page."""
    meter, bay = await first_bookable_bay(http)
    await pages.keep(http, "parking map", f"/parking?day={DAY}&start=11:00")
    await pages.keep(http, "meter", f"/parking/meters/{meter}?day={DAY}&start=11:00")
    window = f"day={DAY}&start=11:00&duration_min=120&bay={bay}&plate={PLATE}"
    quote = await pages.keep(http, "quote", f"/parking/meters/{meter}?{window}")
    fields = ["quote_token", "amount_rial", "meter_id", "day", "start", "duration_min", "bay"]
    form = {name: hidden(quote, name) for name in fields}
    form |= {"plate": PLATE, "method": "wallet", "csrf_token": CSRF}
    booked = await http.post("/parking/reservations", data=form)
    reservation = booked.headers["location"].split("?")[0]
    await container.bus.drain()
    clock.advance(timedelta(hours=1, minutes=10))
    await http.post(f"{reservation}/end", data={"csrf_token": CSRF})
    await container.bus.drain()
    return reservation


async def top_up_by_card(http: httpx.AsyncClient, pages: Pages) -> None:
    """Top up 50,000 Toman at the sandbox bank, keeping the bank's page and the receipt."""
    top_up = await http.post("/wallet/top-up", data={"csrf_token": CSRF, "amount_toman": "50000"})
    bank = top_up.headers["location"]
    await pages.keep(http, "bank", bank)
    card = {"card_number": "6037990000000006", "cvv2": "123", "expiry_month": "12"}
    card |= {"expiry_year": "08", "pin": "123456", "action": "pay", "csrf_token": CSRF}
    paid = await http.post(bank, data=card)
    back = await http.get(paid.headers["location"])
    assert back.status_code in (200, 303)


async def walk(container: Container, clock: FixedClock, http: httpx.AsyncClient) -> Pages:
    """Book a stay from the wallet, end it early, top up by card; every page on the way."""
    pages = Pages()
    await seed_demo_city(container)
    await pages.keep(http, "sign in", "/sign-in")
    await pages.keep(http, "staff sign in", "/staff/sign-in")
    citizen = await identity_services.ensure_citizen(
        container.database, phone=DEMO_CITIZEN_PHONE, display_name="Sara", clock=clock
    )
    await identity_services.register_vehicle(
        container.database, clock, None, citizen_id=citizen, plate=PLATE, kind="car"
    )
    http.headers["x-test-citizen"] = citizen
    await pages.keep(http, "home", "/")
    await pages.keep(http, "account", "/account")
    reservation = await book_and_end_early(container, clock, http, pages)
    await pages.keep(http, "reservation", reservation)
    await pages.keep(http, "my parking", "/parking/my")
    await top_up_by_card(http, pages)
    wallet = await pages.keep(http, "wallet", "/wallet")
    receipt = re.findall(r'href="(/payments/[^"]+/receipt)"', wallet)[0]
    await pages.keep(http, "receipt", receipt)
    await pages.keep(http, "traffic", "/traffic")
    await pages.keep(http, "not found", "/parking/reservations/no-such-stay", status=404)
    del http.headers["x-test-citizen"]
    await pages.keep(http, "sandbox console", "/sandbox-psp", **{"x-test-staff": Role.admin.value})
    return pages


@pytest.fixture
async def http(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        return caller(request)

    container.resolve_principal = resolve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://testserver",
        headers={"x-csrf-token": CSRF},
    ) as client:
        client.cookies.set(CSRF_COOKIE, CSRF)
        yield client


# The walk's pages are plain text: walked once per run, then read by each test.
WALKED: dict[str, Pages] = {}


@pytest.fixture
async def pages(container: Container, clock: FixedClock, http: httpx.AsyncClient) -> Pages:
    if "pages" not in WALKED:
        WALKED["pages"] = await walk(container, clock, http)
    return WALKED["pages"]


# The walk is the same on both databases; SQLite is enough to read its pages.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@ON_SQLITE
async def test_persian_pages_show_only_persian_digits(pages: Pages) -> None:
    found = {name: ascii_digits_on_persian_page(page["fa"]) for name, page in pages.items()}

    assert {name: runs for name, runs in found.items() if runs} == {}
    assert len(found) == 15


@ON_SQLITE
async def test_persian_pages_show_no_english_words_beyond_terms_of_art(pages: Pages) -> None:
    found = {name: english_on_persian_page(page["fa"]) for name, page in pages.items()}

    assert {name: words for name, words in found.items() if words} == {}


@ON_SQLITE
async def test_english_pages_show_no_persian_beyond_the_language_switch_and_plates(
    pages: Pages,
) -> None:
    found = {name: persian_on_english_page(page["en"]) for name, page in pages.items()}

    assert {name: runs for name, runs in found.items() if runs} == {}


@ON_SQLITE
@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_page_with_money_shows_toman_and_never_rial_alone(
    pages: Pages, language: str
) -> None:
    toman, rial = UNITS[language]
    texts = {name: visible_text(page[language]) for name, page in pages.items()}

    assert [name for name in MONEY_PAGES if toman not in texts[name]] == []
    assert [n for n, text in texts.items() if rial in text and n not in RIAL_BESIDE_TOMAN] == []
    for name in RIAL_BESIDE_TOMAN:
        text = texts[name]
        assert text.index(toman) < text.index(rial), name


@ON_SQLITE
async def test_the_receipt_shows_the_toman_then_the_exact_rial(pages: Pages) -> None:
    assert "۵۰٬۰۰۰ تومان دقیقاً برابر با ۵۰۰٬۰۰۰ ریال." in visible_text(pages["receipt"]["fa"])
    assert "50,000 Toman That is exactly 500,000 Rial." in visible_text(pages["receipt"]["en"])
    assert "Paid to Tehran Municipality" in visible_text(pages["receipt"]["en"])


# --- the traffic page's indices -----------------------------------------------------------------


def traffic_page(language: i18n.Language, settings: Settings, clock: FixedClock) -> str:
    """/traffic's template with one district card, as it shows once readings come in."""
    card = DistrictCard(
        district=6, segments=120, measured=87, speed_kmh=23.46, travel_time_index=1.375,
        congestion_pct=37.5, usual_travel_time_index=1.2, trend="worse", last_hours=[],
    )  # fmt: skip
    context = {
        "request": SimpleNamespace(url=SimpleNamespace(path="/traffic")),
        "lang": language,
        "dir": i18n.direction(language),
        "principal": None,
        "csrf_token": "",
        "settings": settings,
        "interval_start": clock.now(),
        "segments": 120,
        "measured": 87,
        "estimated": 33,
        "cards": [card],
        "staff": False,
        "tile_url": "",
    }
    token = i18n.current_language.set(language)
    try:
        return build_environment().get_template("traffic/live.html").render(context)
    finally:
        i18n.current_language.reset(token)


@ON_SQLITE
def test_the_traffic_indices_read_with_persian_digits_and_decimal_point(
    settings: Settings, clock: FixedClock
) -> None:
    persian = traffic_page("fa", settings, clock)
    english = traffic_page("en", settings, clock)

    assert ascii_digits_on_persian_page(persian) == []
    assert "۱٫۳۸ شاخص زمان سفر" in visible_text(persian)
    assert "میانگین سرعت ۲۳ کیلومتر بر ساعت" in visible_text(persian)
    assert persian_on_english_page(english) == []
    assert "1.38 travel time index" in visible_text(english)


@ON_SQLITE
async def test_the_wallet_names_the_bay_and_street_of_the_stay_and_of_its_refund(
    pages: Pages,
) -> None:
    persian = re.findall(r'<span class="paid-for">([^<]*)</span>', pages["wallet"]["fa"])
    english = re.findall(r'<span class="paid-for">([^<]*)</span>', pages["wallet"]["en"])

    assert len(persian) == len(english) == 2  # the payment, and the refund of its unused time
    assert all(re.fullmatch(r"جایگاه [۰-۹]+، .+", line) for line in persian)
    assert all(re.fullmatch(r"Bay \d+, [A-Z][\w .'-]+", line) for line in english)


@ON_SQLITE
async def test_a_stay_ended_early_shows_when_it_ended_not_its_booked_end(pages: Pages) -> None:
    # Booked 11:00 to 13:00, ended at 11:10.
    reservation = {language: visible_text(pages["reservation"][language]) for language in LANGUAGES}
    mine = {language: visible_text(pages["my parking"][language]) for language in LANGUAGES}

    assert "۱۱:۰۰ تا ۱۱:۱۰ (۱۰ دقیقه، به وقت تهران)" in reservation["fa"]
    assert "زودتر پایان یافت؛ رزرو تا ۱۳:۰۰ بود." in reservation["fa"]
    assert (
        "11:00 to 11:10 (10 min, Tehran time) Ended early; booked until 13:00." in reservation["en"]
    )
    assert "تا ۱۱:۱۰" in mine["fa"]
    assert "to 11:10" in mine["en"]
    assert "13:00" not in mine["en"]


@ON_SQLITE
async def test_the_tariff_in_force_is_named_by_its_year_and_says_it_is_not_this_years(
    pages: Pages,
) -> None:
    # The shipped book holds the 1403 tariff; the stay is on 5 Azar 1405.
    for name in ("meter", "quote"):
        assert "تعرفهٔ پارک حاشیه‌ای ۱۴۰۳، نسخهٔ ۱" in visible_text(pages[name]["fa"])
        assert "تعرفهٔ ۱۴۰۵ هنوز افزوده نشده است." in visible_text(pages[name]["fa"])
        assert "Street parking tariff 1403, version 1" in visible_text(pages[name]["en"])
        assert "none for 1405 has been added yet." in visible_text(pages[name]["en"])
    assert "Tariff Street parking tariff 1403, version 1" in visible_text(
        pages["reservation"]["en"]
    )


def in_language(language: i18n.Language) -> str:
    token = i18n.current_language.set(language)
    try:
        return ENVIRONMENT.get_template("constant.html").render()
    finally:
        i18n.current_language.reset(token)


ENVIRONMENT = build_environment()


def test_a_filter_on_a_constant_writes_in_the_language_of_each_page_it_renders() -> None:
    # One compiled template serves every page: a constant is not formatted once for all.
    source = "{{ '12'|digits }} · {{ 120000|toman }} · {{ 1.25|decimal(2) }}"
    ENVIRONMENT.loader = DictLoader({"constant.html": source})

    assert in_language("fa") == "۱۲ · ۱۲٬۰۰۰ تومان · ۱٫۲۵"
    assert in_language("en") == "12 · 12,000 Toman · 1.25"
    assert in_language("fa") == "۱۲ · ۱۲٬۰۰۰ تومان · ۱٫۲۵"
