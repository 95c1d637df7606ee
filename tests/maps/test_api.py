"""Place search and the offline base layer, over HTTP, as the maps and API clients use them."""

from __future__ import annotations

from typing import Any

import httpx

from shahr.bootstrap import Container

EN = {"Accept-Language": "en", "Cookie": "lang=en"}


async def places(client: httpx.AsyncClient, q: str, **headers: str) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/places", params={"q": q}, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["places"]
    return found


async def test_a_metro_station_is_found_by_its_persian_name(
    city: Container, client: httpx.AsyncClient
) -> None:
    found = await places(client, "تجریش")

    assert found[0]["name_en"] == "Tajrish"
    assert found[0]["kind"] == "metro_station"
    assert found[0]["match"] == "exact"
    assert found[0]["metro_lines"] == [1]
    assert (found[0]["lon"], found[0]["lat"]) == (51.433643, 35.804501)


async def test_a_name_typed_with_arabic_letters_finds_the_persian_name(
    city: Container, client: httpx.AsyncClient
) -> None:
    # Arabic yeh and kaf, as an Arabic keyboard types them.
    by_arabic = await places(client, "ميدان آزادي")
    by_persian = await places(client, "میدان آزادی")

    assert by_arabic == by_persian
    assert by_arabic[0]["name_en"] == "Meydan-e Azadi"


async def test_a_district_is_found_by_persian_or_ascii_digits_and_covers_its_outline(
    city: Container, client: httpx.AsyncClient
) -> None:
    persian = await places(client, "منطقه ۷")
    ascii_digits = await places(client, "منطقه 7")

    assert persian == ascii_digits
    assert persian[0]["kind"] == "district"
    assert persian[0]["name_fa"] == "منطقه ۷"
    min_lon, min_lat, max_lon, max_lat = persian[0]["bbox"]
    assert min_lon < persian[0]["lon"] < max_lon
    assert min_lat < persian[0]["lat"] < max_lat


async def test_english_names_are_found_by_any_part_and_the_whole_name_ranks_first(
    city: Container, client: httpx.AsyncClient
) -> None:
    found = await places(client, "sadr")

    # A word that starts with the text ranks above a name that holds it inside a word.
    assert [(p["name_en"], p["match"]) for p in found] == [
        ("Shahid Sadr", "word_prefix"),
        ("Mollasadra Street", "infix"),
    ]
    exact = await places(client, "Vanak")
    assert exact[0]["name_en"] == "Vanak"
    assert exact[0]["match"] == "exact"


async def test_a_street_with_meters_is_found_and_shows_the_stretch_the_meters_cover(
    city: Container, client: httpx.AsyncClient
) -> None:
    # Typed with a space where the name has a zero-width non-joiner.
    found = await places(client, "ایران زمین")

    street = found[0]
    assert street["kind"] == "street"
    assert street["name_en"] == "Iran Zamin Street"
    assert street["district"] == 2
    assert street["bbox"] == [51.37, 35.76, 51.3701, 35.761]


async def test_a_street_of_the_road_network_is_found_once_for_all_its_segments(
    city: Container, client: httpx.AsyncClient
) -> None:
    found = await places(client, "انقلاب")

    # The metro station first (equally good matches go by kind), then the street, once.
    assert [place["name_fa"] for place in found] == ["میدان انقلاب اسلامی", "خیابان انقلاب"]
    assert found[1]["bbox"] == [51.38, 35.701, 51.4, 35.7012]


async def test_a_parking_zone_is_found_by_its_neighbourhood_name(
    city: Container, client: httpx.AsyncClient
) -> None:
    found = await places(client, "شهرک غرب")

    assert found[0]["kind"] == "zone"
    assert found[0]["name_en"] == "Shahrak-e Gharb"


async def test_the_answer_names_places_in_the_language_of_the_request(
    city: Container, client: httpx.AsyncClient
) -> None:
    persian = (await places(client, "Tajrish"))[0]
    client.cookies.set("lang", "en")
    english = (await places(client, "Tajrish"))[0]

    assert (persian["name"], persian["detail"]) == ("تجریش", "ایستگاه مترو · خط ۱")
    assert (english["name"], english["detail"]) == ("Tajrish", "Metro station · Line 1")


async def test_an_interchange_station_names_each_of_its_lines(
    city: Container, client: httpx.AsyncClient
) -> None:
    found = await places(client, "Darvazeh Shemiran")

    assert found[0]["detail"] == "ایستگاه مترو · خط ۲، خط ۴"


async def test_a_name_nothing_matches_finds_nothing(
    city: Container, client: httpx.AsyncClient
) -> None:
    assert await places(client, "Atlantis") == []


async def test_a_search_for_nothing_is_refused_with_a_message_in_the_users_language(
    city: Container, client: httpx.AsyncClient
) -> None:
    for q in ("", "   ", "\u200c"):
        response = await client.get("/api/v1/places", params={"q": q})

        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["detail"] == "نام مکانی را که می‌خواهید پیدا کنید بنویسید."
        assert response.json()["field"] == "q"


async def test_a_search_without_q_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/places")

    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "q", "detail": "پر کردن این فیلد الزامی است."}]


async def test_a_search_of_two_thousand_characters_is_refused_and_says_the_limit(
    city: Container, client: httpx.AsyncClient
) -> None:
    response = await client.get("/api/v1/places", params={"q": "آ" * 2000})
    client.cookies.set("lang", "en")
    english = await client.get("/api/v1/places", params={"q": "a" * 2000})

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "برای جست‌وجوی یک مکان حداکثر ۱۰۰ نویسه بنویسید؛ این ۲۰۰۰ نویسه بود."
    )
    assert english.status_code == 422
    assert english.json()["detail"] == (
        "Type at most 100 characters to search for a place; this was 2000."
    )


async def test_the_api_document_declares_q_as_required_with_its_limits(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()

    parameters = document["paths"]["/api/v1/places"]["get"]["parameters"]
    q = next(p for p in parameters if p["name"] == "q")
    assert q["required"] is True
    assert q["schema"]["minLength"] == 1
    assert q["schema"]["maxLength"] == 100
    assert "/api/v1/maps/base-layer" in document["paths"]


async def test_the_base_layer_holds_districts_roads_metro_lines_and_stations(
    city: Container, client: httpx.AsyncClient
) -> None:
    response = await client.get("/api/v1/maps/base-layer")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    layers = [f["properties"]["layer"] for f in features]
    assert layers.count("district") == 22
    assert layers.count("metro_station") == 150
    lines = {f["properties"]["line"] for f in features if f["properties"]["layer"] == "metro_line"}
    assert lines == {1, 2, 3, 4, 5, 6, 7}
    roads = [f["properties"] for f in features if f["properties"]["layer"] == "road"]
    # The two-way stretch of Enghelab is drawn once; a street with two or more meters is
    # drawn through them (one meter makes no line).
    assert sorted((r["name"], r["class"]) for r in roads) == [
        ("خیابان انقلاب", "major_arterial"),
        ("خیابان انقلاب", "major_arterial"),
        ("خیابان ایران‌زمین", "street"),
    ]


async def test_the_base_layer_is_rounded_to_about_a_metre(
    city: Container, client: httpx.AsyncClient
) -> None:
    body = (await client.get("/api/v1/maps/base-layer")).json()

    def numbers(value: Any) -> list[float]:
        if isinstance(value, int | float):
            return [value]
        return [n for item in value for n in numbers(item)]

    coordinates = [n for f in body["features"] for n in numbers(f["geometry"]["coordinates"])]
    assert all(round(n, 5) == n for n in coordinates)


async def test_a_client_holding_the_base_layer_gets_304_until_it_changes(
    city: Container, client: httpx.AsyncClient
) -> None:
    first = await client.get("/api/v1/maps/base-layer")
    etag = first.headers["etag"]

    again = await client.get("/api/v1/maps/base-layer", headers={"If-None-Match": etag})

    assert again.status_code == 304
    assert again.content == b""
    assert first.headers["cache-control"] == "public, max-age=300"


async def test_an_empty_city_still_gets_a_base_layer_and_finds_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/maps/base-layer")

    assert response.json() == {"type": "FeatureCollection", "features": []}
    assert await places(client, "تجریش") == []
