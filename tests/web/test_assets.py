"""Front-end libraries come from npm at install time and are served by the app, never committed."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHELL_DIR = PROJECT_DIR / "src" / "shahr" / "kernel" / "web"
VENDOR_DIR = SHELL_DIR / "static" / "vendor"


def vendor_references() -> list[str]:
    """Every `/static/vendor/...` file a shell template, stylesheet or script asks for."""
    sources = [
        *(SHELL_DIR / "templates").rglob("*.html"),
        *(SHELL_DIR / "static" / "shell").glob("*.css"),
        *(SHELL_DIR / "static" / "shell").glob("*.js"),
    ]
    found = {
        match
        for source in sources
        for match in re.findall(r"/static/vendor/([\w./\[\]-]+)", source.read_text())
    }
    return sorted(found)


def test_the_libraries_come_from_the_npm_registry_at_pinned_versions() -> None:
    package = json.loads((PROJECT_DIR / "package.json").read_text())
    lock = json.loads((PROJECT_DIR / "package-lock.json").read_text())

    assert {"leaflet", "htmx.org", "swagger-ui-dist", "vazirmatn"} <= set(package["dependencies"])
    assert package["private"] is True
    for name in package["dependencies"]:
        assert lock["packages"][f"node_modules/{name}"]["integrity"].startswith("sha512-")


def test_the_vendor_folder_is_never_committed() -> None:
    ignored = (PROJECT_DIR / ".gitignore").read_text().splitlines()

    assert "src/shahr/kernel/web/static/vendor/" in ignored
    assert "node_modules/" in ignored


def test_the_pages_ask_for_the_libraries_and_the_font() -> None:
    assert {
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "htmx/htmx.min.js",
        "swagger-ui/swagger-ui-bundle.js",
        "swagger-ui/swagger-ui.css",
        "vazirmatn/Vazirmatn-Variable.woff2",
    } <= set(vendor_references())


@pytest.mark.parametrize("reference", vendor_references())
def test_every_vendor_file_the_pages_ask_for_was_installed(reference: str) -> None:
    if not VENDOR_DIR.is_dir():
        reason = f"{VENDOR_DIR} is missing: run `make assets` (needs npm)"
        if os.environ.get("SHAHR_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)

    assert (VENDOR_DIR / reference).is_file(), f"`make assets` does not copy {reference}"


def test_the_font_is_declared_from_our_own_files() -> None:
    css = (SHELL_DIR / "static" / "shell" / "shahr.css").read_text()

    assert re.search(r'@font-face\s*{[^}]*"Vazirmatn"[^}]*url\("/static/vendor/vazirmatn/', css)
    assert "http://" not in css
    assert "https://" not in css
