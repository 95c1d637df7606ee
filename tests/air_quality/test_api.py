"""The monitoring stations' map layer: a cacheable GeoJSON FeatureCollection."""

from __future__ import annotations

import httpx

from shahr.air_quality.services import load_stations
from shahr.bootstrap import Container

from .sources import published_stations

TEHRAN_CITY = (51.0, 35.5, 51.7, 35.9)


async def test_stations_are_points_in_lon_lat_order_with_id_name_and_district(
    container: Container, client: httpx.AsyncClient
) -> None:
    await load_stations(container.database, stations=published_stations())

    response = await client.get("/api/v1/air-quality/stations")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert len(body["features"]) == 35
    min_lon, min_lat, max_lon, max_lat = TEHRAN_CITY
    for feature in body["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        assert min_lon <= lon <= max_lon
        assert min_lat <= lat <= max_lat
        assert feature["properties"]["id"] == feature["id"]
    mahallati = body["features"][0]
    assert mahallati["geometry"] == {"type": "Point", "coordinates": [51.468069, 35.670096]}
    assert mahallati["properties"]["name_fa"] == "اتوبان محلاتی"
    assert mahallati["properties"]["district"] == 14


async def test_a_client_holding_the_stations_gets_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/air-quality/stations")

    again = await client.get(
        "/api/v1/air-quality/stations", headers={"if-none-match": first.headers["etag"]}
    )

    assert again.status_code == 304
