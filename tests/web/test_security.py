"""The edge: security headers, CSRF, cookies, and a language switch that stays on the site."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import httpx
import pytest
from pydantic import ValidationError

from shahr.kernel.credentials import SESSION_COOKIE
from shahr.kernel.settings import Settings
from shahr.kernel.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    LANGUAGE_COOKIE,
    content_security_policy,
)
from shahr.web import local_path

from .conftest import Written

TOKEN = "t" * 43
# What a signed-in browser sends with every request, to this site from any site.
SIGNED_IN_BROWSER = f"{CSRF_COOKIE}={TOKEN}; {SESSION_COOKIE}=s-1"


def set_cookies(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """Each cookie the response sets, with its attributes (`httponly`, `secure`, ...)."""
    found: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            found[name] = {key: morsel[key] for key in morsel if morsel[key]}
            found[name]["value"] = morsel.value
    return found


@pytest.mark.parametrize("path", ["/", "/api/docs", "/healthz", "/no-such-page", "/openapi.json"])
async def test_every_response_carries_the_security_headers(
    http: httpx.AsyncClient, path: str
) -> None:
    response = await http.get(path)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "img-src 'self' data:;" in csp  # no tile or camera host is configured here
    assert "style-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("tile_url", "camera_image_url", "image_sources"),
    [
        ("https://tiles.example.ir/{z}/{x}/{y}.png", None, "'self' data: https://tiles.example.ir"),
        (
            "https://{s}.tile.example.org/{z}/{x}/{y}.png",
            "https://cameras.tehran.example:8443/snapshots/",
            "'self' data: https://*.tile.example.org https://cameras.tehran.example:8443",
        ),
        (None, None, "'self' data:"),
    ],
)
def test_images_come_only_from_the_site_and_the_configured_tile_and_camera_hosts(
    tile_url: str | None, camera_image_url: str | None, image_sources: str
) -> None:
    settings = Settings(tile_url=tile_url, camera_image_url=camera_image_url)

    csp = content_security_policy(settings.image_origins).decode()

    assert f"img-src {image_sources};" in csp


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"environment": "production", "camera_image_url": "http://cameras.example/"},
            "SHAHR_CAMERA_IMAGE_URL must be an https",
        ),
        ({"camera_image_url": "cameras.example"}, "SHAHR_CAMERA_IMAGE_URL must be an http(s)"),
        (
            {"tile_url": "https://tiles.{s}.example/{z}/{x}/{y}.png"},
            "SHAHR_TILE_URL must be an http(s)",
        ),
    ],
)
def test_an_image_host_no_policy_could_name_is_refused_at_start(
    fields: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        Settings(secret_key="k" * 32, **fields)  # type: ignore[arg-type]


async def test_the_request_id_a_proxy_sent_is_kept(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz", headers={"x-request-id": "from-the-proxy-1"})

    assert response.headers["x-request-id"] == "from-the-proxy-1"


async def test_the_csrf_cookie_is_http_only_secure_and_same_site(http: httpx.AsyncClient) -> None:
    response = await http.get("/")

    cookie = set_cookies(response)[CSRF_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    # The page carries the same token for its forms and for htmx.
    assert f'<meta name="csrf-token" content="{cookie["value"]}">' in response.text


async def test_the_csrf_cookie_is_set_once_and_then_kept(http: httpx.AsyncClient) -> None:
    first = await http.get("/")
    second = await http.get("/")

    assert CSRF_COOKIE in set_cookies(first)
    assert CSRF_COOKIE not in set_cookies(second)


async def test_the_language_cookie_is_http_only_and_secure(http: httpx.AsyncClient) -> None:
    response = await http.get("/lang/en", params={"next": "/"})

    cookie = set_cookies(response)[LANGUAGE_COOKIE]
    assert cookie["value"] == "en"
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "lax"


async def test_json_from_a_signed_in_browser_without_the_csrf_token_is_refused(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post(
        "/api/v1/test/notes",
        json={"text": "from another site"},
        headers={"cookie": SIGNED_IN_BROWSER},
    )

    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "CsrfError"
    assert (
        problem["detail"]
        == "این فرم منقضی شده است. صفحه را دوباره بارگذاری کنید و دوباره تلاش کنید."
    )
    assert written == []


async def test_a_post_with_a_token_that_does_not_match_the_cookie_is_refused(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post(
        "/api/v1/test/notes",
        json={"text": "forged"},
        headers={"cookie": SIGNED_IN_BROWSER, CSRF_HEADER: "f" * 43},
    )

    assert response.status_code == 403
    assert written == []


async def test_a_form_without_the_token_is_refused_with_a_page(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post(
        "/test/notes",
        data={"text": "hello"},
        headers={"cookie": f"{CSRF_COOKIE}={TOKEN}", "accept": "text/html"},
    )

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "این فرم منقضی شده است" in response.text
    assert written == []


async def test_a_post_with_the_token_in_the_header_passes_the_csrf_check(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post(
        "/api/v1/test/notes",
        json={"text": "hello"},
        headers={"cookie": f"{CSRF_COOKIE}={TOKEN}", CSRF_HEADER: TOKEN},
    )

    assert response.status_code == 201
    assert written == [{"text": "hello"}]


async def test_a_form_with_the_token_in_its_field_passes_the_csrf_check(
    http: httpx.AsyncClient, written: Written
) -> None:
    response = await http.post(
        "/test/notes",
        data={CSRF_FIELD: TOKEN, "text": "hello"},
        headers={"cookie": f"{CSRF_COOKIE}={TOKEN}"},
    )

    assert response.status_code == 201
    assert written == [{"text": "hello"}]


async def test_the_token_a_page_was_given_passes_the_check(
    http: httpx.AsyncClient, written: Written
) -> None:
    page = await http.get("/")
    token = set_cookies(page)[CSRF_COOKIE]["value"]

    # The client sends the cookie back by itself, as a browser would.
    response = await http.post(
        "/api/v1/test/notes", json={"text": "hello"}, headers={CSRF_HEADER: str(token)}
    )

    assert response.status_code == 201


async def test_a_bearer_token_request_skips_the_csrf_check(http: httpx.AsyncClient) -> None:
    # No ambient cookie authority, so no cross-site forgery to guard against; whether the
    # token is any good is for identity to say (here it is not: 401, not 403).
    response = await http.post(
        "/api/v1/test/notes",
        json={"text": "app"},
        headers={"authorization": "Bearer not-a-real-token", "accept": "application/json"},
    )

    assert response.status_code != 403
    assert response.json().get("code") != "CsrfError"


async def test_json_without_a_session_cookie_needs_no_csrf_token(
    http: httpx.AsyncClient, written: Written
) -> None:
    # An app or a script signing in: nothing ambient to forge, and no page to take a token from.
    response = await http.post(
        "/api/v1/test/notes",
        content=b'{"text": "from an app"}',
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 201
    assert written == [{"text": "from an app"}]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_body_another_site_could_send_without_asking_still_needs_the_token(
    http: httpx.AsyncClient, written: Written, content_type: str | None
) -> None:
    # Forms and fetch's simple requests send these types cross-site without a preflight;
    # only a declared JSON body is exempt.
    headers = {"accept": "application/json"}
    if content_type is not None:
        headers["content-type"] = content_type
    response = await http.post("/api/v1/test/notes", content=b'{"text": "forged"}', headers=headers)

    assert response.status_code == 403
    assert response.json()["code"] == "CsrfError"
    assert written == []


async def test_a_form_without_a_session_cookie_still_needs_the_token(
    http: httpx.AsyncClient, written: Written
) -> None:
    # Signing someone in to an account of the attacker's choosing (login CSRF) is a form post.
    response = await http.post("/test/notes", data={"text": "hello"})

    assert response.status_code == 403
    assert written == []


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/path",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
async def test_the_language_switch_never_redirects_off_the_site(
    http: httpx.AsyncClient, target: str
) -> None:
    response = await http.get("/lang/en", params={"next": target})

    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_an_unknown_language_is_not_found(http: httpx.AsyncClient) -> None:
    response = await http.get("/lang/de", params={"next": "/"})

    assert response.status_code == 404
    assert LANGUAGE_COOKIE not in set_cookies(response)


@pytest.mark.parametrize(
    ("target", "kept"),
    [("/", "/"), ("/parking?district=6", "/parking?district=6"), ("/a/b#c", "/a/b#c")],
)
def test_a_path_on_the_site_is_kept(target: str, kept: str) -> None:
    assert local_path(target) == kept
