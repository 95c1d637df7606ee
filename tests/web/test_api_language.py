"""An API call's errors follow its Accept-Language; pages follow the language cookie."""

from __future__ import annotations

import httpx
import pytest

from shahr.kernel.web.i18n import negotiate
from shahr.kernel.web.security import LANGUAGE_COOKIE

MISSING = "/api/v1/no-such-thing"


@pytest.mark.parametrize(
    ("accept_language", "title"),
    [
        ("en", "Nothing was found at this address."),
        ("en-US,en;q=0.9", "Nothing was found at this address."),
        ("fa", "در این نشانی چیزی پیدا نشد."),
        ("fa-IR,fa;q=0.9,en;q=0.8", "در این نشانی چیزی پیدا نشد."),
        ("de-DE, en;q=0.5", "Nothing was found at this address."),
        ("de", "در این نشانی چیزی پیدا نشد."),  # neither: Persian, the city's first language
    ],
)
async def test_an_api_problem_is_in_the_language_the_call_asked_for(
    http: httpx.AsyncClient, accept_language: str, title: str
) -> None:
    response = await http.get(MISSING, headers={"accept-language": accept_language})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == title
    assert response.headers["content-language"] == ("en" if title.startswith("N") else "fa")
    assert "accept-language" in response.headers["vary"].lower()


async def test_an_api_calls_accept_language_wins_over_the_language_cookie(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(
        MISSING, headers={"accept-language": "fa", "cookie": f"{LANGUAGE_COOKIE}=en"}
    )

    assert response.json()["detail"] == "در این نشانی چیزی پیدا نشد."


async def test_without_accept_language_an_api_call_follows_the_cookie(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(MISSING, headers={"cookie": f"{LANGUAGE_COOKIE}=en"})

    assert response.json()["detail"] == "Nothing was found at this address."


async def test_invalid_fields_are_listed_in_the_language_the_call_asked_for(
    http: httpx.AsyncClient,
) -> None:
    english = await http.post(
        "/api/v1/identity/otp/request", json={}, headers={"accept-language": "en"}
    )
    persian = await http.post(
        "/api/v1/identity/otp/request", json={}, headers={"accept-language": "fa"}
    )

    assert english.status_code == persian.status_code == 422
    assert english.json()["errors"] == [{"field": "phone", "detail": "This field is required."}]
    assert persian.json()["errors"] == [
        {"field": "phone", "detail": "پر کردن این فیلد الزامی است."}
    ]


@pytest.mark.parametrize("path", ["/no-such-page", "/api/docs"])
async def test_a_page_follows_the_cookie_not_the_browsers_accept_language(
    http: httpx.AsyncClient, path: str
) -> None:
    # Many phones in Tehran run an English interface; their owners still read Persian pages.
    persian = await http.get(path, headers={"accept": "text/html", "accept-language": "en-US"})
    english = await http.get(
        path,
        headers={
            "accept": "text/html",
            "accept-language": "fa",
            "cookie": f"{LANGUAGE_COOKIE}=en",
        },
    )

    assert '<html lang="fa" dir="rtl">' in persian.text
    assert '<html lang="en" dir="ltr">' in english.text


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en;q=0.2, fa;q=0.8", "fa"),
        ("fa;q=0, en", "en"),
        ("EN-gb", "en"),
        ("*", None),
        ("en;q=abc, fa;q=0.1", "fa"),
        ("", None),
        ("," * 2000, None),
    ],
)
def test_accept_language_is_read_by_its_weights(header: str, language: str | None) -> None:
    assert negotiate(header) == language
