"""The map layers: districts and metro stations as cacheable GeoJSON FeatureCollections."""

from __future__ import annotations

import httpx

from shahr.bootstrap import Container
from shahr.parking.services import load_metro_stations, seed_approximate_districts

from .geodata import (
    TEHRAN_CITY,
    TEHRAN_REGION,
    centroids,
    inside,
    is_feature_collection,
    metro_stations,
    positions,
)

DEMO_SOURCE = "demo: approximate outline"


async def test_districts_are_a_feature_collection_of_polygons_inside_tehran(
    container: Container, client: httpx.AsyncClient
) -> None:
    await seed_approximate_districts(container.database, centroids=centroids(), source=DEMO_SOURCE)

    response = await client.get("/api/v1/parking/districts")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert is_feature_collection(body)
    assert [f["properties"]["district"] for f in body["features"]] == list(range(1, 23))
    assert body["features"][6]["properties"] == {
        "district": 7,
        "name_fa": "منطقه ۷",
        "name_en": "District 7",
        "approximate": True,
        "source": DEMO_SOURCE,
    }
    assert {f["geometry"]["type"] for f in body["features"]} == {"Polygon"}
    # [lon, lat]: Tehran's longitudes (about 51) and latitudes (about 35.7) cannot be mixed up.
    assert all(
        inside(position, TEHRAN_CITY)
        for f in body["features"]
        for position in positions(f["geometry"])
    )


async def test_metro_stations_are_points_in_lon_lat_order_with_their_lines(
    container: Container, client: httpx.AsyncClient
) -> None:
    await load_metro_stations(container.database, stations=metro_stations())

    body = (await client.get("/api/v1/parking/metro-stations")).json()

    assert is_feature_collection(body)
    assert len(body["features"]) == 150
    assert all(inside(f["geometry"]["coordinates"], TEHRAN_REGION) for f in body["features"])
    tajrish = next(f for f in body["features"] if f["properties"]["name_en"] == "Tajrish")
    assert tajrish["geometry"] == {"type": "Point", "coordinates": [51.433643000000004, 35.804501]}
    assert tajrish["properties"] == {"name_fa": "تجریش", "name_en": "Tajrish", "lines": [1]}


async def test_the_metro_collection_carries_the_odbl_attribution(
    client: httpx.AsyncClient,
) -> None:
    body = (await client.get("/api/v1/parking/metro-stations")).json()

    assert "ODbL 1.0" in body["attribution"]
    assert "tehran-metro-data" in body["attribution"]
    assert body["license"] == "https://opendatacommons.org/licenses/odbl/1-0/"


async def test_the_layers_are_cacheable_and_a_client_holding_them_gets_304(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api/v1/parking/districts", "/api/v1/parking/metro-stations"):
        first = await client.get(path)
        assert first.headers["cache-control"] == "public, max-age=300"
        etag = first.headers["etag"]

        again = await client.get(path, headers={"if-none-match": f"W/{etag}"})

        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag


async def test_the_etag_changes_when_the_districts_change(
    container: Container, client: httpx.AsyncClient
) -> None:
    empty = await client.get("/api/v1/parking/districts")
    await seed_approximate_districts(container.database, centroids=centroids(), source=DEMO_SOURCE)

    seeded = await client.get(
        "/api/v1/parking/districts", headers={"if-none-match": empty.headers["etag"]}
    )

    assert seeded.status_code == 200
    assert seeded.headers["etag"] != empty.headers["etag"]
