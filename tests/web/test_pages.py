"""The shell's pages: Persian and right-to-left first, English on request, nothing from a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from shahr.kernel.settings import Settings

SHELL_DIR = Path(__file__).resolve().parents[2] / "src" / "shahr" / "kernel" / "web"
SHELL_TEMPLATES = sorted((SHELL_DIR / "templates" / "shell").glob("*.html"))
SHELL_SCRIPTS = sorted((SHELL_DIR / "static" / "shell").glob("*.js"))


async def test_the_home_page_is_persian_and_right_to_left_by_default(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fa" dir="rtl">' in response.text
    assert "شهر" in response.text
    assert 'href="/sign-in"' in response.text
    assert "ورود با شماره همراه" in response.text


async def test_the_home_page_shows_today_in_the_jalali_calendar_from_the_app_clock(
    http: httpx.AsyncClient,
) -> None:
    # The test clock stands at Thursday 5 Azar 1405, 10:00 in Tehran.
    response = await http.get("/")

    assert "پنجشنبه ۵ آذر ۱۴۰۵" in response.text
    assert 'datetime="2026-11-26"' in response.text


async def test_the_home_page_holds_a_map_fed_by_the_city_layers(http: httpx.AsyncClient) -> None:
    response = await http.get("/")

    assert 'id="city-map"' in response.text
    assert 'data-districts-url="/api/v1/parking/districts"' in response.text
    assert 'data-metro-url="/api/v1/parking/metro-stations"' in response.text
    assert 'data-air-url="/api/v1/air-quality/stations"' in response.text
    assert 'src="/static/vendor/leaflet/leaflet.js"' in response.text
    assert 'src="/static/shell/home.js"' in response.text
    # No tile server is configured in the tests: the map draws only the city's own layers.
    assert 'data-tile-url=""' in response.text


async def test_the_map_gets_tiles_only_when_a_tile_url_is_set(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    settings.tile_url = "https://tiles.example.org/{z}/{x}/{y}.png"

    response = await http.get("/")

    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in response.text


async def test_the_english_page_reads_left_to_right(http: httpx.AsyncClient) -> None:
    switched = await http.get("/lang/en", params={"next": "/"})
    response = await http.get(switched.headers["location"])

    assert '<html lang="en" dir="ltr">' in response.text
    assert "Sign in with your mobile number" in response.text
    assert "Thursday 5 Azar 1405" in response.text
    assert "26 November 2026" in response.text
    assert 'href="/lang/fa?next=/"' in response.text


async def test_the_language_switch_goes_back_to_the_page_and_its_query(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/lang/en", params={"next": "/parking/map?district=6"})

    assert response.status_code == 303
    assert response.headers["location"] == "/parking/map?district=6"


async def test_each_page_links_the_language_switch_back_to_itself(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/docs")

    assert 'href="/lang/en?next=/api/docs"' in response.text


async def test_the_api_docs_page_serves_swagger_ui_from_our_own_files(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/api/docs")

    assert response.status_code == 200
    assert 'src="/static/vendor/swagger-ui/swagger-ui-bundle.js"' in response.text
    assert 'href="/static/vendor/swagger-ui/swagger-ui.css"' in response.text
    assert 'src="/static/shell/api-docs.js"' in response.text
    assert 'data-spec-url="/openapi.json"' in response.text


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_fastapis_own_docs_pages_are_off_because_they_load_from_a_cdn(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)

    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/", "/api/docs"])
async def test_pages_load_nothing_from_another_site(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)

    loaded = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', response.text)
    assert loaded
    assert [url for url in loaded if not url.startswith("/")] == []


@pytest.mark.parametrize("template", SHELL_TEMPLATES, ids=lambda p: p.name)
def test_templates_hold_no_inline_script_or_event_handler(template: Path) -> None:
    # The CSP is `script-src 'self'`: an inline script or onclick= would be refused.
    html = template.read_text()

    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert [a for a in scripts if "src=" not in a and 'type="application/json"' not in a] == []
    assert re.findall(r"\son[a-z]+\s*=", html) == []


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_scripts_never_write_data_as_html(script: Path) -> None:
    # Station and district names come from data; they are set as text, never as markup.
    source = script.read_text()

    assert "innerHTML" not in source
    assert "eval(" not in source


async def test_the_shell_stylesheet_and_scripts_are_served(http: httpx.AsyncClient) -> None:
    for path in ("/static/shell/shahr.css", "/static/shell/home.js", "/static/shell/api-docs.js"):
        response = await http.get(path)
        assert response.status_code == 200, path
