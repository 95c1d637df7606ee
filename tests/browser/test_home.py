"""The home page on a phone: Persian right-to-left, the map of Tehran, and the switch to English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from .conftest import ConsoleLog

pytestmark = pytest.mark.browser

# What the city layers hold once their endpoints exist (../shared/data/README.md).
DISTRICTS = 22
METRO_STATIONS = 150
AIR_QUALITY_STATIONS = 35


def wait_for_the_map(page: Page) -> None:
    page.wait_for_selector("#city-map[data-layers-loaded]", timeout=20_000)


def layer_count(page: Page, key: str) -> int:
    count = page.get_attribute("#city-map", f"data-{key}-count")
    return int(count or 0)


def test_the_home_page_is_persian_right_to_left_on_a_phone(
    page: Page, screenshots: Path, console: ConsoleLog
) -> None:
    page.goto("/")

    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "fa")
    expect(page.locator(".brand-name")).to_have_text("شهر")
    expect(page.locator(".topnav .sign-in")).to_have_text("ورود")
    expect(page.locator(".today-date time")).to_contain_text("۱۴۰")
    expect(page.get_by_role("link", name="ورود با شماره همراه")).to_have_attribute(
        "href", "/sign-in"
    )
    # Right to left: the brand sits at the right end of the top bar.
    brand = page.locator(".brand").bounding_box()
    assert brand is not None
    assert brand["x"] > 390 / 2
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    wait_for_the_map(page)
    page.screenshot(path=screenshots / "home-fa.png")
    page.screenshot(path=screenshots / "home-fa-full.png", full_page=True)
    assert [e for e in console.errors if "Content Security Policy" in e] == []


def test_the_map_of_tehran_fills_most_of_the_screen_and_draws_the_city_layers(
    page: Page, screenshots: Path
) -> None:
    page.goto("/")
    wait_for_the_map(page)

    map_box = page.locator("#city-map").bounding_box()
    assert map_box is not None
    assert map_box["width"] >= 389
    assert map_box["height"] >= 844 * 0.5
    expect(page.locator("#city-map.leaflet-container")).to_be_visible()
    expect(page.locator(".leaflet-control-attribution")).to_contain_text(
        "© OpenStreetMap contributors, ODbL"
    )
    expect(page.locator(".map-layers")).to_be_visible()

    districts = layer_count(page, "districts")
    metro = layer_count(page, "metro")
    air = layer_count(page, "air")
    if districts:
        assert page.locator(".leaflet-districts-pane path").count() == districts == DISTRICTS
    # Stations are markers in cluster groups: some alone, the rest counted in clusters.
    if metro:
        assert metro == METRO_STATIONS
        assert page.locator(".metro-pin, .map-cluster.is-metro").count() > 0
    if air:
        assert air == AIR_QUALITY_STATIONS
        assert page.locator(".aq-marker, .map-cluster.is-air").count() > 0
    unavailable = [
        n for n, k in ((districts, "districts"), (metro, "metro"), (air, "air")) if not n
    ]
    if unavailable:
        # An endpoint not there yet: the page says so and the map still shows.
        expect(page.locator(".map-status")).to_contain_text("در دسترس نیست")
    page.screenshot(path=screenshots / "home-fa-map.png")


def test_a_layer_can_be_switched_off_and_on(page: Page) -> None:
    page.goto("/")
    wait_for_the_map(page)
    if not layer_count(page, "metro"):
        pytest.skip("the metro stations endpoint does not answer yet")

    metro = page.locator(".metro-pin, .map-cluster.is-metro")
    shown = metro.count()
    assert shown > 0

    page.get_by_label("مترو").uncheck()
    expect(metro).to_have_count(0)

    page.get_by_label("مترو").check()
    expect(metro).to_have_count(shown)


def test_a_metro_station_tells_its_name_and_lines(page: Page) -> None:
    page.goto("/")
    wait_for_the_map(page)
    if not layer_count(page, "metro"):
        pytest.skip("the metro stations endpoint does not answer yet")

    # A station on its own (the rest are in clusters at city zoom).
    page.locator(".metro-pin").first.dispatch_event("click")

    popup = page.locator(".leaflet-popup-content .map-popup")
    expect(popup).to_be_visible()
    expect(popup).to_contain_text("خط ")


def test_switching_to_english_reads_left_to_right_and_back(page: Page, screenshots: Path) -> None:
    page.goto("/")

    page.locator(".topnav .lang").click()

    page.wait_for_url("**/")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".topnav .sign-in")).to_have_text("Sign in")
    expect(page.get_by_role("heading", level=2)).to_have_text(
        "Tehran's city services, in one place"
    )
    brand = page.locator(".brand").bounding_box()
    assert brand is not None
    assert brand["x"] < 390 / 2
    wait_for_the_map(page)
    page.screenshot(path=screenshots / "home-en.png")

    page.locator(".topnav .lang").click()

    page.wait_for_url("**/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".topnav .sign-in")).to_have_text("ورود")


def test_an_unknown_page_is_a_friendly_persian_page(page: Page, screenshots: Path) -> None:
    response = page.goto("/no-such-page")

    assert response is not None
    assert response.status == 404
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("h1")).to_have_text("در این نشانی چیزی پیدا نشد.")
    expect(page.get_by_role("link", name="بازگشت به صفحهٔ اصلی")).to_be_visible()
    page.screenshot(path=screenshots / "not-found-fa.png")


def test_the_api_docs_page_shows_swagger_ui_from_our_own_files(
    page: Page, screenshots: Path, console: ConsoleLog
) -> None:
    page.goto("/api/docs")

    expect(page.locator("#swagger-ui .information-container")).to_be_visible(timeout=20_000)
    expect(page.locator("#swagger-ui")).to_contain_text("Shahr API")
    expect(page.locator("#swagger-ui")).to_contain_text("/healthz")
    page.screenshot(path=screenshots / "api-docs-fa.png")
    assert [e for e in console.errors if "Content Security Policy" in e] == []
