"""Recommending units for an incident through the service: by travel time over the roads,
not by straight line; stale and busy units listed with why."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shahr.bootstrap import Container
from shahr.incidents.domain.errors import NoRoadNetworkError
from shahr.incidents.domain.incident import IncidentType, Location, Severity, Source
from shahr.incidents.domain.routing import GraphCache
from shahr.incidents.domain.units import UnitKind
from shahr.incidents.gateways.roads import FixedRoads
from shahr.incidents.services import INCIDENTS, IncidentsPorts, incidents, units
from shahr.incidents.services import dispatch as dispatching
from shahr.kernel.clock import FixedClock

from .test_api import api_client, as_
from .test_routing import Roads, at

# A block of one-way streets, anticlockwise: A->B east, B->C north, C->D west, D->A south.
BLOCK = (
    Roads(A=(0, 0), B=(1000, 0), C=(1000, 300), D=(0, 300))
    .one_way("A", "B", "Enghelab")
    .one_way("B", "C", "Vali-e Asr")
    .one_way("C", "D", "Taleghani")
    .one_way("D", "A", "Hafez")
)


async def _unit(ports: IncidentsPorts, call_sign: str, x: float, y: float) -> str:
    made = await units.register_unit(
        ports.database,
        ports.clock,
        ports.bus,
        call_sign=call_sign,
        kind=UnitKind.patrol_car,
        actor="op",
    )
    lon, lat = at(x, y)
    await units.report_position(ports.database, ports.clock, ports.bus, made.id, lon=lon, lat=lat)
    return made.id


async def test_the_unit_that_arrives_first_is_first_not_the_nearest_across_the_block(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    db, bus = ports.database, ports.bus
    lon, lat = at(600, 0)
    incident = await incidents.report_incident(
        db,
        clock,
        bus,
        kind=IncidentType.crash,
        severity=Severity.major,
        location=Location(lon=lon, lat=lat, segment_id="A-B", offset_m=600.0, bearing_deg=90.0),
        source=Source.operator,
        actor="op",
    )
    across = await _unit(ports, "ACROSS", 600, 300)  # 300 m away, 1,500 m by the one-ways
    behind = await _unit(ports, "BEHIND", 0, 150)  # 618 m away, 750 m by road
    silent = await _unit(ports, "SILENT", 550, 0)
    busy = await _unit(ports, "BUSY", 500, 0)
    clock.advance(timedelta(seconds=100))
    for unit_id in (across, behind, busy):
        lon, lat = at(*{across: (600, 300), behind: (0, 150), busy: (500, 0)}[unit_id])
        await units.report_position(db, clock, bus, unit_id, lon=lon, lat=lat)
    other = await incidents.report_incident(
        db,
        clock,
        bus,
        kind=IncidentType.breakdown,
        severity=Severity.minor,
        location=Location(lon=lon, lat=lat),
        source=Source.operator,
        actor="op",
    )
    await dispatching.dispatch(db, clock, bus, other.id, busy, actor="op")
    clock.advance(timedelta(seconds=60))  # SILENT last reported 160 s ago

    ranked = await dispatching.recommend(
        db,
        clock,
        FixedRoads(tuple(BLOCK.links)),
        incident.id,
        stale_after_s=120,
        graphs=GraphCache(),
    )

    assert [(r.unit_id, r.skipped) for r in ranked] == [
        (behind, None),
        (across, None),
        (silent, "stale"),
        (busy, "unavailable"),
    ]
    assert ranked[0].travel_s == pytest.approx(750 / 10.0, rel=0.02)  # 36 km/h = 10 m/s
    assert ranked[0].straight_m > ranked[1].straight_m


async def test_without_a_road_network_there_is_no_recommendation(
    ports: IncidentsPorts, clock: FixedClock
) -> None:
    with pytest.raises(NoRoadNetworkError):
        await dispatching.recommend(ports.database, clock, None, "any", graphs=GraphCache())


async def test_the_dispatcher_sees_the_ranking_with_call_signs_over_the_api(
    container: Container, ports: IncidentsPorts, clock: FixedClock
) -> None:
    container.provide(INCIDENTS, replace(ports, roads=FixedRoads(tuple(BLOCK.links))), replace=True)
    lon, lat = at(600, 0)
    made = await incidents.report_incident(
        ports.database,
        clock,
        ports.bus,
        kind=IncidentType.crash,
        severity=Severity.major,
        location=Location(lon=lon, lat=lat, segment_id="A-B", offset_m=600.0),
        source=Source.operator,
        actor="op",
    )
    await _unit(ports, "BEHIND", 0, 150)
    async for http in api_client(container):
        ranked = await http.get(
            f"/api/v1/incidents/{made.id}/recommendations", headers=as_("operator")
        )
        unit_asks = await http.get(
            f"/api/v1/incidents/{made.id}/recommendations", headers=as_("unit")
        )
    assert ranked.status_code == 200
    assert [(r["call_sign"], r["skipped"], r["via"]) for r in ranked.json()] == [
        ("BEHIND", None, ["Hafez", "Enghelab"])
    ]
    assert unit_asks.status_code == 403
