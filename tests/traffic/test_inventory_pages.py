"""The inventory's staff screens: adding, moving and retiring a detector, and the cameras.

Over the 3x3 test grid and its detectors. The caller's role is named by a test header, as
in `test_detector_page`; every form carries the CSRF token, as a browser's would.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.traffic.domain.inventory import ChangeKind
from shahr.traffic.queries.cameras import cameras
from shahr.traffic.queries.inventory import detector_changes, detector_inventory
from shahr.web import create_app

INVENTORY = "/staff/traffic/inventory"
CAMERAS = "/staff/traffic/cameras"
CSRF = "i" * 43


@pytest.fixture
async def http(network: Container) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(network)

    async def resolve(request: Request) -> Principal | None:
        role = request.headers.get("x-test-role")
        if not role:
            return None
        if role == "citizen":
            return Principal(f"{role}-1", "citizen", "Citizen", frozenset({Role.citizen}))
        return Principal(f"{role}-1", "staff", "Operator", frozenset({Role(role)}))

    network.resolve_principal = resolve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        yield client


def as_role(role: Role = Role.traffic_operator, lang: str = "en") -> dict[str, str]:
    return {"x-test-role": role.value, "cookie": f"{LANGUAGE_COOKIE}={lang}; {CSRF_COOKIE}={CSRF}"}


async def post(
    http: httpx.AsyncClient, path: str, fields: dict[str, str], *, lang: str = "en"
) -> httpx.Response:
    return await http.post(path, data={"csrf_token": CSRF, **fields}, headers=as_role(lang=lang))


def error_beside(html: str, field: str) -> str:
    found = re.search(rf'id="{field}-error" role="alert">([^<]+)<', html)
    assert found, f"no error beside {field}"
    return found.group(1)


async def test_an_operator_lists_the_detectors_and_the_citizen_is_kept_out(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get(INVENTORY, headers=as_role())
    assert page.status_code == 200
    assert set(re.findall(r'data-detector-id="([^"]+)" data-retired="no"', page.text)) >= {
        "d-01-11-1",
        "cam-a",
    }
    assert (await http.get(INVENTORY, headers=as_role(Role.citizen))).status_code == 403
    assert (await http.get(CAMERAS, headers=as_role(Role.parking_operator))).status_code == 403


async def test_adding_a_detector_by_its_position_and_bearing_places_it_and_keeps_the_change(
    http: httpx.AsyncClient, network: Container
) -> None:
    added = await post(
        http,
        INVENTORY,
        {"id": "new-1", "kind": "loop", "lon": "51.407", "lat": "35.71401", "bearing_deg": "270",
         "lane": "1"},
    )  # fmt: skip

    assert added.status_code == 303
    assert added.headers["location"] == f"{INVENTORY}/new-1?done=added"
    page = await http.get(added.headers["location"], headers=as_role())
    assert "The detector is added." in page.text
    lines = {
        str(line.detector.id): line.detector for line in await detector_inventory(network.database)
    }
    assert lines["new-1"].segment_id == "s11-01"
    [change] = await detector_changes(network.database, "new-1")
    assert (change.change, change.changed_by) == (ChangeKind.added, "traffic_operator-1")


async def test_a_bad_form_shows_the_error_beside_its_box_in_persian_and_stores_nothing(
    http: httpx.AsyncClient, network: Container
) -> None:
    refused = await post(
        http, INVENTORY, {"id": "new-2", "kind": "loop", "segment_id": "s01-11", "lane": "5"},
        lang="fa",
    )  # fmt: skip

    assert refused.status_code == 422
    assert "۵" in error_beside(refused.text, "lane")
    assert 'value="new-2"' in refused.text  # what was typed stays in the form
    assert "new-2" not in {line.detector.id for line in await detector_inventory(network.database)}
    no_place = await post(http, INVENTORY, {"id": "new-3", "kind": "loop"})
    assert "needs a segment_id" in error_beside(no_place.text, "segment_id")


async def test_moving_then_retiring_a_detector_is_kept_in_its_history(
    http: httpx.AsyncClient, network: Container
) -> None:
    moved = await post(
        http,
        f"{INVENTORY}/d-01-11-1/move",
        {"segment_id": "s01-11", "lane": "2", "position_m": "50"},
    )
    assert moved.status_code == 303
    retired = await post(http, f"{INVENTORY}/d-01-11-1/retire", {})
    assert retired.status_code == 303

    page = await http.get(retired.headers["location"], headers=as_role())
    assert "The detector is retired" in page.text
    assert re.findall(r'class="history-line" data-change="(\w+)"', page.text)[:2] == [
        "retired",
        "moved",
    ]
    again = await post(http, f"{INVENTORY}/d-01-11-1/retire", {})
    assert again.status_code == 404


async def test_a_form_without_the_csrf_token_is_refused(http: httpx.AsyncClient) -> None:
    response = await http.post(f"{INVENTORY}/d-01-11-1/retire", data={}, headers=as_role())
    assert response.status_code == 403


async def test_cameras_are_added_edited_and_retired_from_their_screen(
    http: httpx.AsyncClient, network: Container
) -> None:
    fields = {"id": "cam-1", "name_fa": "میدان ولیعصر", "name_en": "Vali-Asr square",
              "lon": "51.409", "lat": "35.714", "stream_url": "rtsp://10.1.1.1/live",
              "public": "true"}  # fmt: skip
    added = await post(http, CAMERAS, fields)
    assert added.status_code == 303
    bad = await post(http, CAMERAS, {**fields, "id": "cam-2", "snapshot_url": "ftp://x/a.jpg"})
    assert bad.status_code == 422
    assert "http(s)" in error_beside(bad.text, "snapshot_url")

    edited = await post(http, f"{CAMERAS}/cam-1", {**fields, "status": "faulty", "public": ""})
    assert edited.status_code == 303
    retired = await post(http, f"{CAMERAS}/cam-1/retire", {})
    assert retired.status_code == 303

    [camera] = await cameras(network.database)
    assert (camera.id, camera.status.value, camera.public) == ("cam-1", "retired", False)
    listing = await http.get(CAMERAS, headers=as_role(lang="fa"))
    assert 'data-camera-id="cam-1" data-status="retired"' in listing.text


async def test_the_staff_shell_lists_the_inventory_tools_for_operators(
    http: httpx.AsyncClient,
) -> None:
    shell = await http.get("/staff", headers=as_role())
    assert INVENTORY in shell.text
    assert CAMERAS in shell.text
