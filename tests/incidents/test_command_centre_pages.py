"""The command dashboard and the unit's phone page as people use them: who may open them, a
detection confirmed and a unit sent from the page, the loser of a race told, a report with
bad fields refused field by field, and a unit walking its call-out on the phone page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from fastapi import Request

from shahr.bootstrap import Container
from shahr.incidents.domain.incident import IncidentType, Location, Severity, Source
from shahr.incidents.domain.units import UnitKind
from shahr.incidents.gateways.cameras import FakeCameraDirectory, NearCamera
from shahr.incidents.gateways.roads import FixedRoads, RoadLink
from shahr.incidents.queries import queue
from shahr.incidents.services import INCIDENTS, IncidentsPorts, incidents, units
from shahr.incidents.staff_pages import DASHBOARD_FEED, DASHBOARD_PAGE, UNIT_PAGE
from shahr.kernel.clock import FixedClock
from shahr.kernel.principals import Principal, Role
from shahr.kernel.web.security import CSRF_COOKIE, LANGUAGE_COOKIE
from shahr.web import create_app

CSRF = "e" * 43
# Enghelab street, eastbound: three segments of about 900 m along 35.70 N.
LONS = (51.40, 51.41, 51.42, 51.43)
STREET = tuple(
    RoadLink(
        segment_id=f"east-{n}", from_node=f"j{n}", to_node=f"j{n + 1}", length_m=904.0,
        speed_kmh=36.0, free_flow_kmh=50.0, name="انقلاب",
        geometry=((LONS[n], 35.70), (LONS[n + 1], 35.70)),
    )
    for n in range(3)
) + tuple(
    RoadLink(
        segment_id=f"west-{n}", from_node=f"j{n + 1}", to_node=f"j{n}", length_m=904.0,
        speed_kmh=36.0, free_flow_kmh=50.0, name="انقلاب",
        geometry=((LONS[n + 1], 35.70), (LONS[n], 35.70)),
    )
    for n in range(3)
)  # fmt: skip


@pytest.fixture
def ports(container: Container) -> IncidentsPorts:
    # A version of its own: the process's graph cache is keyed by it, and other tests' fixed
    # networks are "fixed" too.
    wired = replace(
        container.get(INCIDENTS), roads=FixedRoads(STREET, version="command-centre-enghelab")
    )
    container.provide(INCIDENTS, wired, replace=True)
    return wired


@pytest.fixture
async def http(container: Container, ports: IncidentsPorts) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(container)

    async def resolve(request: Request) -> Principal | None:
        role = request.headers.get("x-test-role")
        if not role:
            return None
        if role == "citizen":
            return Principal(f"{role}-1", "citizen", "Somebody", frozenset({Role.citizen}))
        return Principal(f"{role}-1", "staff", "Somebody", frozenset({Role(role)}))

    container.resolve_principal = resolve
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as client:
        yield client


def as_role(role: Role, lang: str = "en") -> dict[str, str]:
    return {"x-test-role": role.value, "cookie": f"{LANGUAGE_COOKIE}={lang}; {CSRF_COOKIE}={CSRF}"}


def form(**fields: str) -> dict[str, str]:
    return {"csrf_token": CSRF, **fields}


async def detection(ports: IncidentsPorts, segment: str = "east-1") -> str:
    opened = await incidents.open_detected(
        ports.database, ports.clock, ports.bus, segment_id=segment, lon=51.415, lat=35.70,
        detected_at=ports.clock.now(), method="california7", score=0.93, evidence={},
    )  # fmt: skip
    assert opened is not None
    return opened


async def unit_at(ports: IncidentsPorts, call_sign: str, lon: float) -> str:
    unit = await units.register_unit(
        ports.database, ports.clock, ports.bus, call_sign=call_sign, kind=UnitKind.patrol_car,
        actor="op-1",
    )  # fmt: skip
    await units.report_position(ports.database, ports.clock, ports.bus, unit.id, lon=lon, lat=35.70)
    return unit.id


@pytest.mark.parametrize("path", [DASHBOARD_PAGE, UNIT_PAGE])
async def test_strangers_are_sent_to_sign_in_and_citizens_refused(
    http: httpx.AsyncClient, path: str
) -> None:
    anonymous = await http.get(path, headers={"accept": "text/html"})
    citizen = await http.get(path, headers=as_role(Role.citizen))
    parking = await http.get(path, headers=as_role(Role.parking_operator))

    assert anonymous.status_code == 303
    assert citizen.status_code == 403
    assert parking.status_code == 403


async def test_a_unit_may_watch_the_dashboard_but_not_confirm(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    tentative = await detection(ports)
    page = await http.get(DASHBOARD_PAGE, headers=as_role(Role.police_unit))
    refused = await http.post(
        f"{DASHBOARD_PAGE}/{tentative}/confirm", data=form(), headers=as_role(Role.police_unit)
    )

    assert page.status_code == 200
    assert refused.status_code == 403
    assert (await queue.incident_detail(ports.database, tentative)).incident.status == "tentative"


async def test_the_tentative_detection_comes_first_and_confirming_it_shows_units_by_travel_time(
    http: httpx.AsyncClient, ports: IncidentsPorts, clock: FixedClock
) -> None:
    await incidents.report_incident(
        ports.database, ports.clock, ports.bus, kind=IncidentType.crash, severity=Severity.severe,
        location=Location(lon=51.405, lat=35.70, segment_id="east-0", offset_m=450.0),
        source=Source.operator, actor="op-1",
    )  # fmt: skip
    clock.advance(timedelta(minutes=1))
    tentative = await detection(ports)
    near = await unit_at(ports, "پ-۱۲", 51.401)
    await unit_at(ports, "پ-۳۰", 51.429)

    before = (await http.get(DASHBOARD_PAGE, headers=as_role(Role.traffic_operator))).text
    confirmed = await http.post(
        f"{DASHBOARD_PAGE}/{tentative}/confirm", data=form(), headers=as_role(Role.traffic_operator)
    )
    after = await http.get(confirmed.headers["location"], headers=as_role(Role.traffic_operator))

    queued = re.findall(r'data-incident-id="([^"]+)" data-status="(\w+)"', before)
    assert queued[0] == (tentative, "tentative")
    assert 'id="confirm-incident"' in before
    assert confirmed.status_code == 303
    sent_first = re.findall(r'class="recommendation card" data-unit-id="([^"]+)"', after.text)
    assert sent_first[0] == near
    assert "min over the roads" in after.text
    assert "km in a straight line" in after.text
    assert "Via انقلاب" in after.text


async def test_two_dispatchers_send_the_same_unit_and_the_second_is_told(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    first, second = await detection(ports, "east-1"), await detection(ports, "east-2")
    unit = await unit_at(ports, "پ-۱۲", 51.401)
    for incident in (first, second):
        await incidents.confirm(ports.database, ports.clock, ports.bus, incident, actor="op-1")

    won = await http.post(
        f"{DASHBOARD_PAGE}/{first}/dispatch", data=form(unit_id=unit),
        headers=as_role(Role.traffic_operator),
    )  # fmt: skip
    lost = await http.post(
        f"{DASHBOARD_PAGE}/{second}/dispatch", data=form(unit_id=unit),
        headers=as_role(Role.traffic_operator, "fa"),
    )  # fmt: skip

    assert won.status_code == 303
    assert lost.status_code == 409
    assert "یگان فرستاده نشد" in lost.text
    assert (await queue.incident_detail(ports.database, second)).assignments == ()


async def test_a_report_with_bad_fields_says_what_is_wrong_beside_each_and_stores_nothing(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    answer = await http.post(
        f"{DASHBOARD_PAGE}/report",
        data=form(kind="meteor", severity="major", lanes="۹۹", blocked="1"),
        headers=as_role(Role.traffic_operator),
    )

    assert answer.status_code == 422
    assert re.search(r'id="kind-error"[^>]*>Choose the type of incident\.<', answer.text)
    assert re.search(r'id="lanes-error"[^>]*>Give the number of lanes', answer.text)
    assert re.search(r'id="place-error"[^>]*>Click the map where it happened', answer.text)
    assert await queue.incident_list(ports.database) == []


@pytest.mark.parametrize(
    ("lon", "lat", "said"),
    [
        ("51.41", "35.75", "No street within 200 m"),
        ("12.5", "41.9", "outside the city"),
        ("east", "35.70", "not a longitude and latitude"),
    ],
)
async def test_a_point_off_the_roads_or_outside_the_city_is_refused(
    http: httpx.AsyncClient, ports: IncidentsPorts, lon: str, lat: str, said: str
) -> None:
    answer = await http.post(
        f"{DASHBOARD_PAGE}/report", data=form(kind="crash", severity="minor", lon=lon, lat=lat),
        headers=as_role(Role.traffic_operator),
    )  # fmt: skip

    assert answer.status_code == 422
    assert said in answer.text
    assert await queue.incident_list(ports.database) == []


async def test_a_click_beside_a_street_is_put_on_it_and_opened_at_once(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    answer = await http.post(
        f"{DASHBOARD_PAGE}/report",
        data=form(kind="breakdown", severity="minor", lanes="3", blocked="1",
                  lon="51.4150", lat="35.7003", description="وانت خراب"),
        headers=as_role(Role.traffic_operator),
    )  # fmt: skip

    [reported] = await queue.incident_list(ports.database)
    assert answer.status_code == 303
    assert reported.status == "open"
    assert reported.location.segment_id in {"east-1", "west-1"}
    assert [lane.value for lane in reported.lanes] == ["blocked", "clear", "clear"]


async def test_a_unit_accepts_arrives_reopens_the_lanes_and_clears_from_its_phone(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    incident = await detection(ports)
    await incidents.confirm(ports.database, ports.clock, ports.bus, incident, actor="op-1")
    unit = await unit_at(ports, "پ-۱۲", 51.401)
    await http.post(
        f"{DASHBOARD_PAGE}/{incident}/dispatch", data=form(unit_id=unit),
        headers=as_role(Role.traffic_operator),
    )  # fmt: skip
    phone = as_role(Role.police_unit, "fa")

    page = await http.get(f"{UNIT_PAGE}?unit={unit}", headers=phone)
    early = await http.post(f"{UNIT_PAGE}/{unit}/arrived", data=form(), headers=phone)
    steps = [
        (await http.post(f"{UNIT_PAGE}/{unit}/{step}", data=form(), headers=phone)).status_code
        for step in ("accept", "arrived", "lanes-reopened", "cleared")
    ]
    done = (await queue.incident_detail(ports.database, incident)).incident

    assert 'data-step="accept"' in page.text
    assert "shahr_unit=" in page.headers.get("set-cookie", "")
    assert early.status_code == 409
    assert 'id="refusal"' in early.text
    assert steps == [303, 303, 303, 303]
    assert done.status == "cleared"
    assert done.timeline.lanes_reopened is not None
    assert done.timeline.arrived is not None


async def test_the_live_feed_passes_incident_changes_to_each_open_dashboard(
    container: Container, ports: IncidentsPorts
) -> None:
    feed = container.get(DASHBOARD_FEED)
    with feed.listening() as changes:
        incident = await detection(ports)
        await container.bus.drain()
        kind, body = changes.get_nowait()

    assert kind == "incident"
    assert body["id"] == incident
    assert body["status"] == "tentative"
    assert feed.listeners == 0


async def test_the_event_stream_is_for_staff_only(http: httpx.AsyncClient) -> None:
    citizen = await http.get("/staff/incidents/events", headers=as_role(Role.citizen))
    stream = await http.get(
        "/staff/incidents/events?max_s=0.2",
        headers={**as_role(Role.traffic_operator), "accept": "text/event-stream"},
    )

    assert citizen.status_code == 403
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.text.startswith("retry:")


async def test_both_pages_are_staff_tools_in_the_workspace(container: Container) -> None:
    operator = Principal("t-1", "staff", "Operator", frozenset({Role.traffic_operator}))
    crew = Principal("u-1", "staff", "Unit", frozenset({Role.police_unit}))

    assert DASHBOARD_PAGE in [tool.href for tool in container.workspace.tools_for(operator)]
    assert UNIT_PAGE not in [tool.href for tool in container.workspace.tools_for(operator)]
    assert UNIT_PAGE in [tool.href for tool in container.workspace.tools_for(crew)]


async def test_the_nearest_cameras_show_their_picture_and_a_stream_the_browser_may_play(
    http: httpx.AsyncClient, container: Container, ports: IncidentsPorts
) -> None:
    cameras = FakeCameraDirectory(
        [
            NearCamera("cam-7", "چهارراه ولیعصر", 51.416, 35.7005, 0.0, 90.0,
                       "https://video.example/cam-7/index.m3u8", "/static/shell/icon.svg",
                       True, "active"),
            NearCamera("cam-9", "پل کالج", 51.414, 35.7005, 0.0, None, "rtsp://10.0.0.9/live",
                       None, False, "active"),
            NearCamera("cam-far", "تجریش", 51.43, 35.80, 0.0, None, None, None, True, "active"),
        ]
    )  # fmt: skip
    container.provide(INCIDENTS, replace(ports, cameras=cameras), replace=True)
    incident = await detection(ports)

    page = await http.get(f"{DASHBOARD_PAGE}?incident={incident}", headers=as_role(Role.admin))

    shown = re.findall(r'class="camera card" data-camera-id="([^"]+)"', page.text)
    assert sorted(shown) == ["cam-7", "cam-9"]
    assert 'data-src="https://video.example/cam-7/index.m3u8"' in page.text
    assert 'href="rtsp://10.0.0.9/live"' in page.text
    assert 'src="/static/shell/icon.svg"' in page.text


async def test_a_false_alarm_is_dismissed_kept_and_counted(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    tentative = await detection(ports)

    answer = await http.post(
        f"{DASHBOARD_PAGE}/{tentative}/dismiss", data=form(), headers=as_role(Role.admin)
    )
    page = await http.get(answer.headers["location"], headers=as_role(Role.admin))
    again = await http.post(
        f"{DASHBOARD_PAGE}/{tentative}/confirm", data=form(), headers=as_role(Role.admin, "fa")
    )

    assert answer.status_code == 303
    assert f'data-incident-id="{tentative}"' not in page.text
    assert re.search(r'data-kpi="dismissed">1<', page.text)
    assert again.status_code == 409
    assert "تنها رخداد تأییدنشده را می‌توان تأیید کرد." in again.text
    assert (await queue.incident_detail(ports.database, tentative)).incident.status == "dismissed"


async def test_a_street_picked_from_the_list_puts_the_incident_at_its_middle(
    http: httpx.AsyncClient, ports: IncidentsPorts
) -> None:
    listed = await http.get(DASHBOARD_PAGE, headers=as_role(Role.traffic_operator))
    answer = await http.post(
        f"{DASHBOARD_PAGE}/report",
        data=form(kind="roadwork", severity="major", segment_id="east-2", lanes="2"),
        headers=as_role(Role.traffic_operator),
    )
    unknown = await http.post(
        f"{DASHBOARD_PAGE}/report",
        data=form(kind="roadwork", severity="major", segment_id="nowhere"),
        headers=as_role(Role.traffic_operator),
    )

    [reported] = await queue.incident_list(ports.database)
    assert '<option value="east-2">انقلاب (east-2)</option>' in listed.text
    assert answer.status_code == 303
    assert (reported.location.segment_id, reported.location.offset_m) == ("east-2", 452.0)
    assert (reported.location.lon, reported.location.lat) == pytest.approx((51.425, 35.70))
    assert unknown.status_code == 422
    assert re.search(
        r'id="segment-error"[^>]*>This street is not on the road network', unknown.text
    )
