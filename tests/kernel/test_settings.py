"""Settings refuse, at start-up, a base map a browser would block or could not fill in."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shahr.kernel.settings import Settings

SECRET = "a-production-secret-of-enough-length"


def production(**values: object) -> Settings:
    return Settings(environment="production", secret_key=SECRET, **values)  # type: ignore[arg-type]  # pydantic coerces the secret


def test_production_refuses_a_tile_url_that_is_not_https() -> None:
    with pytest.raises(ValidationError, match="SHAHR_TILE_URL must be an https:// address"):
        production(tile_url="http://tiles.example.org/{z}/{x}/{y}.png")


def test_production_takes_an_https_tile_url_and_its_attribution() -> None:
    settings = production(
        tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
        tile_attribution="© OpenStreetMap contributors",
    )

    assert settings.tile_url == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert settings.tile_attribution == "© OpenStreetMap contributors"


def test_a_laptop_may_use_its_own_plain_http_tile_server() -> None:
    settings = Settings(tile_url="http://127.0.0.1:8080/{z}/{x}/{y}.png")

    assert settings.tile_url == "http://127.0.0.1:8080/{z}/{x}/{y}.png"


def test_a_tile_url_without_the_zoom_and_axes_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"a template with \{z\}, \{x\} and \{y\}"):
        Settings(tile_url="https://tiles.example.org/map.png")


def test_without_a_tile_url_the_maps_draw_the_offline_base_layer() -> None:
    settings = production()

    assert settings.tile_url is None
    assert settings.tile_attribution == ""


def test_the_tile_url_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHAHR_ENVIRONMENT", "production")
    monkeypatch.setenv("SHAHR_SECRET_KEY", SECRET)
    monkeypatch.setenv("SHAHR_TILE_URL", "http://tiles.example.org/{z}/{x}/{y}.png")

    with pytest.raises(ValidationError, match="https://"):
        Settings()
