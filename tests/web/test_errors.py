"""Errors: problem+json for the API, a page in the reader's language for people."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from shahr.kernel.persian import persian_digits
from shahr.kernel.settings import Settings
from shahr.kernel.web.security import CSRF_COOKIE, CSRF_HEADER, LANGUAGE_COOKIE

from .conftest import Written

TOKEN = "t" * 43
WITH_TOKEN = {CSRF_HEADER: TOKEN, "cookie": f"{CSRF_COOKIE}={TOKEN}"}


async def test_an_unknown_page_is_a_friendly_persian_page_for_a_browser(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/no-such-page", headers={"accept": "text/html,*/*;q=0.8"})

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "fa"
    assert '<html lang="fa" dir="rtl">' in response.text
    assert "در این نشانی چیزی پیدا نشد." in response.text
    assert 'href="/static/shell/shahr.css"' in response.text
    assert 'class="error-page"' in response.text
    assert 'class="card' in response.text
    assert 'href="/"' in response.text


async def test_an_unknown_api_address_is_problem_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/no-such-thing", headers={"accept": "text/html"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["type"] == "https://shahr.city/problems/404"
    assert problem["title"] == "در این نشانی چیزی پیدا نشد."
    assert problem["instance"] == "/api/v1/no-such-thing"


async def test_a_client_that_asks_for_json_gets_problem_json_anywhere(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/no-such-page", headers={"accept": "application/json"})

    assert response.headers["content-type"] == "application/problem+json"


async def test_the_error_page_is_english_for_a_reader_who_chose_english(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(
        "/no-such-page", headers={"accept": "text/html", "cookie": f"{LANGUAGE_COOKIE}=en"}
    )

    assert '<html lang="en" dir="ltr">' in response.text
    assert "Nothing was found at this address." in response.text
    assert response.headers["content-language"] == "en"


async def test_an_api_problem_is_in_the_readers_language(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/no-such-thing", headers={"cookie": f"{LANGUAGE_COOKIE}=en"})

    assert response.json()["title"] == "Nothing was found at this address."


async def test_invalid_fields_are_listed_in_persian(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/test/notes",
        data={},
        headers={**WITH_TOKEN, "accept": "application/json"},
    )

    assert response.status_code == 422
    problem = response.json()
    assert problem["title"] == "برخی از فیلدها معتبر نیستند."
    assert problem["errors"] == [{"field": "text", "detail": "پر کردن این فیلد الزامی است."}]


async def test_invalid_fields_are_listed_on_the_page_for_a_browser(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/test/notes", data={"csrf_token": TOKEN}, headers={"cookie": f"{CSRF_COOKIE}={TOKEN}"}
    )

    assert response.status_code == 422
    assert "<strong>text</strong>: پر کردن این فیلد الزامی است." in response.text


async def test_a_bug_is_a_500_page_that_says_sorry_and_keeps_the_security_headers(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get("/test/boom", headers={"accept": "text/html"})

    assert response.status_code == 500
    assert "مشکلی در سمت ما پیش آمد." in response.text
    assert "a bug in a route" not in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert "content-security-policy" in response.headers


async def test_a_bug_under_the_api_is_problem_json(http: httpx.AsyncClient) -> None:
    response = await http.get("/test/boom", headers={"accept": "application/json"})

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 500


# --- the body limit ------------------------------------------------------------------------


async def test_an_oversized_body_is_refused_with_a_413_naming_the_limit(
    http: httpx.AsyncClient, settings: Settings, written: Written
) -> None:
    body = b'{"text": "' + b"x" * settings.max_body_bytes + b'"}'

    response = await http.post(
        "/api/v1/test/notes",
        content=body,
        headers={**WITH_TOKEN, "content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert persian_digits(str(settings.max_body_bytes)) in problem["detail"]
    assert problem["code"] == "BodyTooLargeError"
    assert written == []


async def test_a_body_that_grows_too_large_while_streaming_is_refused_too(
    http: httpx.AsyncClient, settings: Settings, written: Written
) -> None:
    # No Content-Length: the limit is found only while the body is read.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(settings.max_body_bytes // 50_000 + 1):
            yield b"x" * 50_000
        yield b'"}'

    response = await http.post(
        "/api/v1/test/notes",
        content=chunks(),
        headers={**WITH_TOKEN, "content-type": "application/json"},
    )

    assert response.status_code == 413
    assert persian_digits(str(settings.max_body_bytes)) in response.json()["detail"]
    assert written == []


async def test_an_oversized_form_is_refused_with_a_page_for_a_browser(
    http: httpx.AsyncClient, settings: Settings, written: Written
) -> None:
    response = await http.post(
        "/test/notes",
        data={"csrf_token": TOKEN, "text": "x" * settings.max_body_bytes},
        headers={"cookie": f"{CSRF_COOKIE}={TOKEN}", "accept": "text/html"},
    )

    assert response.status_code == 413
    assert "درخواست بیش از حد بزرگ است" in response.text
    assert written == []


async def test_a_body_within_the_limit_is_accepted(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post("/api/v1/test/notes", json={"text": "سلام"}, headers=WITH_TOKEN)

    assert response.status_code == 201
    assert written == [{"text": "سلام"}]
