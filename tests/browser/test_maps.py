"""Maps a newcomer can find places on: the offline base layer, place search, clusters."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_without_tiles_the_home_map_draws_the_city_from_its_own_data(
    page: Page, screenshots: Path
) -> None:
    page.goto("/")
    page.wait_for_selector("#city-map[data-base-layer]", timeout=20_000)

    # The demo sets no tile server: no tile is asked for, and the base layer is drawn.
    assert page.get_attribute("#city-map", "data-tile-url") == ""
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    drawn = int(page.get_attribute("#city-map", "data-base-layer") or 0)
    assert drawn > 22  # districts, roads and metro lines
    assert page.locator(".leaflet-base-pane path").count() == drawn
    expect(page.locator(".leaflet-control-attribution")).to_contain_text("tehran-metro-data")
    page.screenshot(path=screenshots / "maps-home-base-layer-fa.png")


def test_searching_a_metro_station_by_its_persian_name_flies_the_map_to_it(
    page: Page, screenshots: Path
) -> None:
    page.goto("/")
    page.wait_for_selector("#city-map[data-layers-loaded]", timeout=20_000)

    search = page.get_by_role("combobox", name="پیدا کردن مکان")
    search.fill("تجريش")  # typed with an Arabic yeh
    option = page.get_by_role("listbox").get_by_role("option").first
    expect(option).to_contain_text("تجریش")
    expect(option).to_contain_text("ایستگاه مترو")
    option.click()

    expect(page.locator(".place-note")).to_have_text("تجریش روی نقشه نشان داده شد.")
    expect(page.locator("#city-map")).to_have_attribute("data-place", "Tajrish")
    pin = page.locator(".place-pin")
    expect(pin).to_be_visible()
    # The map flew there, and the place is in the middle of it.
    expect(page.locator("#city-map")).to_have_attribute("data-place-shown", "Tajrish")
    box = page.locator("#city-map").bounding_box()
    pin_box = pin.bounding_box()
    assert box is not None
    assert pin_box is not None
    assert abs(pin_box["x"] + pin_box["width"] / 2 - (box["x"] + box["width"] / 2)) < 30
    assert abs(pin_box["y"] + pin_box["height"] / 2 - (box["y"] + box["height"] / 2)) < 30
    page.screenshot(path=screenshots / "maps-home-search-fa.png")


def test_a_search_for_nothing_or_too_much_says_so(page: Page) -> None:
    page.goto("/")
    page.wait_for_selector("#city-map[data-layers-loaded]", timeout=20_000)
    search = page.get_by_role("combobox", name="پیدا کردن مکان")

    search.fill("   ")
    page.get_by_role("button", name="پیدا کن").click()
    expect(page.locator(".place-note")).to_have_text("نام مکانی را که می‌خواهید پیدا کنید بنویسید.")

    search.fill("آتلانتیس")
    expect(page.locator(".place-note")).to_contain_text("مکانی با این نام پیدا نشد")


def test_centre_on_me_says_plainly_when_the_position_is_refused(page: Page) -> None:
    # The browser context grants no permission, so the position is refused.
    page.goto("/")
    page.wait_for_selector("#city-map[data-layers-loaded]", timeout=20_000)

    page.get_by_role("button", name="مکان من").click()

    expect(page.locator(".map-status")).to_contain_text("اجازهٔ دسترسی به موقعیتتان را نداده‌اید")


def test_the_parking_map_finds_a_street_and_clusters_its_meters(
    page: Page, screenshots: Path
) -> None:
    page.goto("/parking")
    page.wait_for_selector("#parking-map[data-base-layer]", timeout=20_000)

    page.get_by_role("combobox", name="پیدا کردن مکان").fill("Farahzadi")
    page.get_by_role("listbox").get_by_role("option").first.click()

    map_ = page.locator("#parking-map")
    expect(map_).to_have_attribute("data-place-shown", "Farahzadi Boulevard")
    expect(page.locator(".place-pin")).to_be_visible()
    assert page.locator(".meter-pin, .map-cluster").count() > 0
    page.screenshot(path=screenshots / "maps-parking-search-fa.png")


def test_a_place_can_be_chosen_with_the_keyboard(page: Page) -> None:
    page.goto("/")
    page.wait_for_selector("#city-map[data-layers-loaded]", timeout=20_000)
    search = page.get_by_role("combobox", name="پیدا کردن مکان")

    search.fill("شریف")
    expect(page.get_by_role("listbox").get_by_role("option").first).to_be_visible()
    search.press("ArrowDown")
    expect(search).to_have_attribute("aria-activedescendant", "place-0")
    search.press("Enter")

    expect(page.locator("#city-map")).to_have_attribute("data-place-shown", "Daneshgah-e Sharif")
