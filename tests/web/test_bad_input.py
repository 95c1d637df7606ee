"""Bad input is a 422 that names the field, on both databases; it never reaches a query."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from shahr.kernel.web.instants import Instant

PERSIAN_CONTROL = "این متن نویسه‌های کنترلی دارد."
ENGLISH_CONTROL = "This text contains control characters."
PERSIAN_INSTANT = {
    "این تاریخ و ساعت باید منطقهٔ زمانی‌اش را داشته باشد، مانند \u200e+03:30 یا Z.",
    "این باید تاریخ و ساعتی مانند \u200e2026-11-26T10:00:00+03:30 باشد.",
    "این تاریخ باید میان سال‌های ۲۰۰۰ و ۲۱۰۰ میلادی باشد.",
}

# A request with a NUL byte in one field, and the field the refusal should name. The first
# four need no sign-in; the staff sign-in form is a page's form, posted without a token.
NUL_REQUESTS: list[Any] = [
    pytest.param("GET", "/api/v1/places?q=%D8%AA%00", None, "q", id="place search"),
    pytest.param(
        "GET", "/api/v1/parking/search?bbox=51.36,35.75%00,51.41,35.77", None, "bbox", id="search"
    ),
    pytest.param(
        "POST",
        "/api/v1/identity/otp/request",
        {"json": {"phone": "0912\x001234567"}},
        "phone",
        id="code request",
    ),
    pytest.param(
        "POST",
        "/api/v1/identity/staff/sign-in",
        {"json": {"username": "ad\x00min", "password": "secret"}},
        "username",
        id="staff sign-in",
    ),
    pytest.param(
        "POST",
        "/staff/sign-in",
        {"data": {"username": "ad\x00min", "password": "x"}},
        "username",
        id="staff sign-in form",
    ),
    pytest.param("GET", "/api/v1/parking/meters/1%00", None, "path", id="path"),
    pytest.param(
        "POST",
        "/api/v1/identity/otp/request",
        {"json": {"ph\x00one": "09121234567"}},
        "ph?one",
        id="json key",
    ),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), NUL_REQUESTS)
async def test_a_nul_byte_is_a_422_naming_the_field_before_any_query(
    client: httpx.AsyncClient, method: str, url: str, body: dict[str, Any] | None, field: str
) -> None:
    response = await client.request(
        method, url, headers={"accept": "application/json"}, **(body or {})
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"] == [{"field": field, "detail": PERSIAN_CONTROL}]


async def test_the_refusal_is_in_english_for_an_app_that_asks_for_it(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/v1/places", params={"q": "Azadi\x07"}, headers={"accept-language": "en"}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "q", "detail": ENGLISH_CONTROL}]


async def test_a_browser_gets_a_page_listing_the_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/staff/sign-in",
        data={"username": "a\x1bb", "password": "x"},
        headers={"accept": "text/html"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "username" in response.text
    assert PERSIAN_CONTROL in response.text


async def test_tabs_and_line_breaks_are_text_and_pass(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/identity/staff/sign-in", json={"username": "no\tone\r\n", "password": "x"}
    )

    assert response.status_code == 400
    assert response.json()["code"] == "WrongPasswordError"


async def test_an_upload_form_is_checked_and_its_file_left_alone(
    client: httpx.AsyncClient,
) -> None:
    binary = bytes(range(32)) * 4
    response = await client.post(
        "/staff/sign-in",
        data={"username": "a\x00", "password": "x"},
        files={"photo": ("permit.jpg", binary, "image/jpeg")},
        headers={"accept": "application/json"},
    )

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["username"]


# --- dates and times: one strict type, `Instant`, for every one a request sends ---


@pytest.mark.parametrize(
    ("at", "detail"),
    [
        pytest.param(
            "4559", "This must be a date and time like 2026-11-26T10:00:00+03:30.", id="epoch"
        ),
        pytest.param(
            "2026-11-26T10:00:00",
            "This date and time needs its zone, like +03:30 or Z.",
            id="naive",
        ),
        pytest.param(
            "0001-01-01T00:00:00Z",
            "This date must fall between the years 2000 and 2100.",
            id="year 1",
        ),
        pytest.param(
            "9999-12-31T23:59:59+14:00",
            "This date must fall between the years 2000 and 2100.",
            id="year 9999",
        ),
        pytest.param(
            "yesterday", "This must be a date and time like 2026-11-26T10:00:00+03:30.", id="words"
        ),
    ],
)
async def test_a_date_time_without_a_zone_or_out_of_range_is_a_422_naming_it(
    client: httpx.AsyncClient, at: str, detail: str
) -> None:
    response = await client.get(
        "/api/v1/traffic/states", params={"at": at}, headers={"accept-language": "en"}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "at", "detail": detail}]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/traffic/history?at=2026-11-26T10:00:00", "at"),
        ("/api/v1/traffic/indices?since=1", "since"),
        ("/api/v1/traffic/journey-times?until=0001-01-01T00:00:00%2B03:30", "until"),
        ("/api/v1/parking/search?lon=51.4&lat=35.7&starts_at=2026-11-26T10:00", "starts_at"),
    ],
)
async def test_every_date_time_parameter_is_as_strict(
    client: httpx.AsyncClient, url: str, field: str
) -> None:
    response = await client.get(url)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert response.json()["errors"][0]["detail"] in PERSIAN_INSTANT


async def test_an_aware_date_time_in_range_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/traffic/states", params={"at": "2026-11-26T10:00:00+03:30"}
    )

    assert response.status_code == 200


def test_an_instant_is_read_as_utc() -> None:
    instant = TypeAdapter(Instant).validate_python("2026-11-26T10:00:00+03:30")

    assert instant.isoformat() == "2026-11-26T06:30:00+00:00"


def test_a_json_number_is_no_instant_either() -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Instant).validate_json("4559")

    assert refused.value.errors()[0]["type"] == "instant_format"
