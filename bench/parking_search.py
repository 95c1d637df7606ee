"""Search for the 20 nearest meters among 100,000 bays: in process, and through HTTP.

Claim (issue 3): at least 20,000 queries/s in process; p99 under 50 ms through HTTP at
1,000 requests/s.

In process, two parts, each as the median of several short runs, one query at a time:

1. The index parking searches with (`shahr.kernel.geo.PointIndex`, an STRtree in a local
   metric plane, built over the meters as `InventoryCache` builds it) over 12,500 meters
   x 8 bays = 100,000 bays at random positions in Tehran's bounding box: 20-nearest
   queries from random points, against the same queries answered by brute force with
   numpy (haversine to every meter, `argpartition`, sort the 20), runs interleaved. The
   index is over meters: the 8 bays of a meter share its position, so "the 20 nearest
   meters" is a k-NN over 12,500 points. The query as the search route makes it (a
   `where` filter and a 1 km limit) is measured too.
2. The search query itself, over the same 12,500 meters (the CSV below, loaded into a
   SQLite file with the demo's metro stations): `rank_meters`, everything the search does
   in memory (vehicle kind, the window's price per zone and street class, a price
   ceiling, nearest first, the closest metro station per meter and to the point), and
   `search_meters`, which adds the live free-bay count and the answer's shape. The free
   bays come from the process's copy of the holds over the window (`queries.holds.
   HoldsCopy`: kept about a second, dropped when the write path reports a reservation
   write), so the search as measured mostly reads it from memory; the case "copy dropped
   before each search" makes every search read the holds from the database, the cost a
   search pays once a second per window span (here with no reservations in the database,
   so a small answer). Decision 0022 says which of search's devices these figures keep.

Through HTTP: a real `shahr serve` whose database has the demo city plus 12,500 meters
imported with `shahr import meters` (a generated CSV in the documented columns), served
outside demo mode (`harness.running_plain_server`: demo mode would also run one simulated
MQTT meter per imported meter inside the server, which then starves the requests), loaded by
wrk at a paced rate (wrk's Lua `delay()`; wrk has no rate option and wrk2 is not packaged
here) on `/api/v1/parking/search` at a fixed point, then at full speed, and /healthz from
the same server in the same run for the ratio. wrk competes with the server for the
machine's cores.

    .venv/bin/python bench/parking_search.py [--database sqlite|postgresql|both|none]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    SHAHR,
    LoadResult,
    postgres_url,
    running_plain_server,
    save,
    wrk,
    wrk_paced,
)
from shahr import bootstrap
from shahr.demo.services import read_demo_data
from shahr.kernel.geo import LonLat, PointIndex
from shahr.kernel.settings import Settings
from shahr.parking import queries, services
from shahr.parking.domain import TimeWindow, VehicleKind, parse_meter_file
from shahr.parking.queries.holds import holds_copy_of
from shahr.parking.queries.search import rank_meters
from shahr.parking.services import PARKING
from shahr.startup import upgrade_database

METERS = 12_500
BAYS_PER_METER = 8
K = 20
# Tehran's bounding box, roughly: Chitgar to Tehranpars, Rey to Tajrish.
MIN_LON, MAX_LON = 51.20, 51.60
MIN_LAT, MAX_LAT = 35.57, 35.83
# Runs of each in-process case, interleaved, and how long each lasts: the median run counts.
IN_PROCESS_RUNS = 5
IN_PROCESS_RUN_S = 0.6
HTTP_RATE = 1_000
HTTP_DURATION_S = 10
FULL_SPEED_S = 6
# A rate the server keeps up with here: latency without a queue.
LIGHT_RATE = 50
# The search point: Valiasr Square.
POINT = LonLat(51.4056, 35.7108)
EARTH_RADIUS_M = 6_371_008.8
TEHRAN = ZoneInfo("Asia/Tehran")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def random_points(rng: random.Random, n: int) -> list[LonLat]:
    return [LonLat(rng.uniform(MIN_LON, MAX_LON), rng.uniform(MIN_LAT, MAX_LAT)) for _ in range(n)]


class BruteForce:
    """Haversine to every point, then the k smallest: the baseline."""

    def __init__(self, points: list[LonLat]) -> None:
        self.lons = np.radians(np.array([p.lon for p in points]))
        self.lats = np.radians(np.array([p.lat for p in points]))
        self.cos_lats = np.cos(self.lats)

    def nearest(self, point: LonLat, k: int) -> list[tuple[int, float]]:
        lon, lat = np.radians(point.lon), np.radians(point.lat)
        a = (
            np.sin((self.lats - lat) / 2) ** 2
            + np.cos(lat) * self.cos_lats * np.sin((self.lons - lon) / 2) ** 2
        )
        distances = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
        part = np.argpartition(distances, k)[:k]
        order = part[np.argsort(distances[part], kind="stable")]
        return list(zip(order.tolist(), distances[order].tolist(), strict=True))


def timed_queries(
    query: Callable[[LonLat], object], points: list[LonLat], seconds: float
) -> tuple[float, list[float]]:
    """Queries one after another for `seconds`: (queries/s, latencies in ms)."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    i = 0
    while True:
        t0 = time.perf_counter()
        query(points[i % len(points)])
        t1 = time.perf_counter()
        latencies.append((t1 - t0) * 1000)
        i += 1
        if t1 >= deadline:
            break
    return len(latencies) / (time.perf_counter() - started), latencies


def median_runs(
    cases: dict[str, Callable[[LonLat], object]], points: list[LonLat]
) -> dict[str, tuple[float, float, float]]:
    """Each case run `IN_PROCESS_RUNS` times, interleaved: its median (queries/s, p50, p99)."""
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
    for query in cases.values():
        timed_queries(query, points, 0.3)  # warm-up
    for _ in range(IN_PROCESS_RUNS):
        for name, query in cases.items():
            rate, latencies = timed_queries(query, points, IN_PROCESS_RUN_S)
            runs[name].append((rate, statistics.median(latencies), percentile(latencies, 99)))
    return {
        name: (
            statistics.median(r for r, _, _ in found),
            statistics.median(p for _, p, _ in found),
            statistics.median(p for _, _, p in found),
        )
        for name, found in runs.items()
    }


def print_cases(
    results: dict[str, tuple[float, float, float]], figures: dict[str, object], prefix: str
) -> None:
    print(f"  {'query':<44} {'queries/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rate, p50, p99) in results.items():
        figures[f"{prefix} {name.strip()}"] = {"queries_per_s": rate, "p50_ms": p50, "p99_ms": p99}
        print(f"  {name:<44} {rate:>10,.0f} {p50:>8.3f} {p99:>8.3f}")


def in_process(figures: dict[str, object]) -> None:
    rng = random.Random(3)
    meters = random_points(rng, METERS)
    t0 = time.perf_counter()
    index = PointIndex((i, p) for i, p in enumerate(meters))
    build_s = time.perf_counter() - t0
    brute = BruteForce(meters)
    queries_ = random_points(rng, 5_000)
    # The same answers, or the comparison means nothing (ties aside, which random floats avoid).
    for q in queries_[:200]:
        assert [m for m, _ in index.nearest(q, K)] == [m for m, _ in brute.nearest(q, K)]
    fits = {i: rng.random() > 0.02 for i in range(METERS)}  # a few meters with no car bay

    cases: dict[str, Callable[[LonLat], object]] = {
        "PointIndex.nearest(k=20)": lambda q: index.nearest(q, K),
        "  as search: where=, 1 km": lambda q: index.nearest(
            q, K, max_distance_m=1_000, where=fits.__getitem__
        ),
        "numpy brute force (baseline)": lambda q: brute.nearest(q, K),
    }
    print(
        f"in process: {METERS:,} meters x {BAYS_PER_METER} = {METERS * BAYS_PER_METER:,} bays, "
        f"random in Tehran's bbox; index built in {build_s * 1000:.0f} ms; one thread; "
        f"median of {IN_PROCESS_RUNS} runs of {IN_PROCESS_RUN_S} s"
    )
    results = median_runs(cases, queries_)
    print_cases(results, figures, "in process")
    index_rate = results["PointIndex.nearest(k=20)"][0]
    brute_rate = results["numpy brute force (baseline)"][0]
    ratio = index_rate / brute_rate
    figures["in process ratio index/brute"] = ratio
    verdict = "meets" if index_rate >= 20_000 else "MISSES"
    print(
        f"  index / brute force: {ratio:.1f}x queries/s; "
        f"{verdict} the 20,000 queries/s claim ({index_rate:,.0f})"
    )
    asyncio.run(search_in_process(queries_, brute_rate, figures))


async def search_in_process(
    points: list[LonLat], brute_rate: float, figures: dict[str, object]
) -> None:
    """The search query over the 12,500 meters in a SQLite file, as the route calls it."""
    with tempfile.TemporaryDirectory() as tmp:
        container, station_count = await loaded_container(Path(tmp))
        try:
            starts = next_open_day_10am(datetime.now(TEHRAN))
            window = TimeWindow(starts, starts + timedelta(hours=1))
            ranked, searched = await search_cases(container, window)
            print(
                f"\n  the search query over the same {METERS:,} meters (SQLite, "
                f"{station_count} metro stations), 10:00-11:00 on the next working day"
            )
            results = median_runs(ranked, points)
            results |= await median_async_runs(searched, points)
            print_cases(results, figures, "in process")
            print_search_ratios(results, brute_rate, figures)
        finally:
            await container.stop()


async def search_cases(
    container: bootstrap.Container, window: TimeWindow
) -> tuple[dict[str, Callable[[LonLat], object]], dict[str, Callable[[LonLat], Awaitable[object]]]]:
    """The in-memory part of search (`rank_meters`), and the whole search with and without
    the holds copy."""
    ports = container.get(PARKING)
    snapshot = await ports.inventory.current()

    def ranked(**kw: object) -> Callable[[LonLat], object]:
        def query(point: LonLat) -> object:
            found = rank_meters(
                snapshot,
                ports.rules,
                now=ports.clock.now(),
                window=window,
                vehicle_kind=VehicleKind.car,
                near=point,
                limit=K,
                **kw,  # type: ignore[arg-type]
            )
            return found.result(set(), available_only=False, limit=K)

        return query

    async def searched(point: LonLat) -> object:
        return await queries.search_meters(
            container.database,
            ports.inventory,
            ports.rules,
            now=ports.clock.now(),
            window=window,
            vehicle_kind=VehicleKind.car,
            near=point,
            limit=K,
        )

    copy = holds_copy_of(container.database)

    async def searched_uncached(point: LonLat) -> object:
        copy.reservations_written()
        return await searched(point)

    return (
        {
            "rank_meters: car, window, 1 km, metro": ranked(),
            "  with max_price_rial": ranked(max_price_rial=100_000),
        },
        {
            "search_meters: + free bays, answer": searched,
            "  copy dropped before each search (SQL)": searched_uncached,
        },
    )


async def loaded_container(tmp: Path) -> tuple[bootstrap.Container, int]:
    """A started container over a SQLite file holding the bench's meters and the demo's
    metro stations; and how many stations."""
    settings = Settings(database_url=f"sqlite:///{tmp}/search.db", var_dir=tmp)
    upgrade_database(settings)
    container = bootstrap.build(settings)
    await container.start()
    path = tmp / "meters.csv"
    meters_csv(path)
    ports = container.get(PARKING)
    records = parse_meter_file(path.read_text(encoding="utf-8"))
    await services.load_meters(
        container.database, container.clock, ports.inventory, records=records
    )
    stations = read_demo_data().metro_stations
    await services.load_metro_stations(container.database, stations=stations)
    ports.inventory.invalidate()
    return container, len(stations)


async def median_async_runs(
    cases: dict[str, Callable[[LonLat], Awaitable[object]]], points: list[LonLat]
) -> dict[str, tuple[float, float, float]]:
    """`median_runs` for coroutines."""
    for query in cases.values():
        await timed_async(query, points, 0.3)  # warm-up
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in cases}
    for _ in range(IN_PROCESS_RUNS):
        for name, query in cases.items():
            rate, latencies = await timed_async(query, points, IN_PROCESS_RUN_S)
            runs[name].append((rate, statistics.median(latencies), percentile(latencies, 99)))
    return {
        name: (
            statistics.median(r for r, _, _ in found),
            statistics.median(p for _, p, _ in found),
            statistics.median(p for _, _, p in found),
        )
        for name, found in runs.items()
    }


def print_search_ratios(
    results: dict[str, tuple[float, float, float]], brute_rate: float, figures: dict[str, object]
) -> None:
    rank_rate = results["rank_meters: car, window, 1 km, metro"][0]
    search_rate = results["search_meters: + free bays, answer"][0]
    figures["in process ratio rank_meters/brute"] = rank_rate / brute_rate
    figures["in process ratio search_meters/brute"] = search_rate / brute_rate
    print(
        f"  rank_meters / brute force k-NN alone: {rank_rate / brute_rate:.1f}x; "
        f"search_meters / brute force k-NN alone: {search_rate / brute_rate:.1f}x "
        f"queries/s; the whole search {'meets' if search_rate >= 20_000 else 'MISSES'} "
        f"20,000 queries/s ({search_rate:,.0f})"
    )


async def timed_async(
    query: Callable[[LonLat], Awaitable[object]], points: list[LonLat], seconds: float
) -> tuple[float, list[float]]:
    """`timed_queries` for a coroutine: one awaited after another."""
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    i = 0
    while True:
        t0 = time.perf_counter()
        await query(points[i % len(points)])
        t1 = time.perf_counter()
        latencies.append((t1 - t0) * 1000)
        i += 1
        if t1 >= deadline:
            break
    return len(latencies) / (time.perf_counter() - started), latencies


def meters_csv(path: Path) -> None:
    """12,500 meters in the documented columns, 8 bays each, in 50 bench zones."""
    rng = random.Random(12)
    columns = [
        "device_id",
        "zone_code",
        "zone_name_fa",
        "zone_name_en",
        "district",
        "street_fa",
        "street_en",
        "street_class",
        "lon",
        "lat",
        "bays",
        "bay_kinds",
    ]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for n in range(METERS):
            zone = n % 50
            street = n % 500
            writer.writerow(
                [
                    f"BENCH-{n:05d}",
                    f"bench-{zone:02d}",
                    f"منطقه آزمون {zone}",
                    f"Bench zone {zone}",
                    zone % 22 + 1,
                    f"خیابان آزمون {street}",
                    f"Bench Street {street}",
                    "ABCD"[street % 4],
                    f"{rng.uniform(MIN_LON, MAX_LON):.6f}",
                    f"{rng.uniform(MIN_LAT, MAX_LAT):.6f}",
                    BAYS_PER_METER,
                    "7:disabled;8:motorcycle" if n % 3 == 0 else "",
                ]
            )


def next_open_day_10am(now: datetime) -> datetime:
    """10:00 Tehran time on the next day that is not a Friday (a window the zone prices)."""
    day = now.astimezone(TEHRAN) + timedelta(days=1)
    while day.weekday() == 4:
        day += timedelta(days=1)
    return day.replace(hour=10, minute=0, second=0, microsecond=0)


def through_http(name: str, database_url: str | None, figures: dict[str, object]) -> None:
    with running_plain_server(database_url) as (base, _var_dir, env):
        import_s = import_meters(env)
        starts = next_open_day_10am(datetime.now(TEHRAN))
        query = urlencode(
            {
                "lon": POINT.lon,
                "lat": POINT.lat,
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "limit": K,
            }
        )
        search_url = f"{base}/api/v1/parking/search?{query}"
        # The first search builds the inventory snapshot (12,500 meters); not measured.
        t0 = time.perf_counter()
        answer = httpx.get(search_url, timeout=60)
        answer.raise_for_status()
        first_s = time.perf_counter() - t0
        found = answer.json()["meters"]
        print(
            f"\nthrough HTTP ({name}): imported {METERS:,} meters in {import_s:.1f} s; "
            f"first search (builds the snapshot) {first_s * 1000:.0f} ms; "
            f"{len(found)} meters in the answer, nearest {found[0]['distance_m']:.0f} m, "
            f"{len(answer.content):,} bytes"
        )
        measured = http_loads(name, base, search_url, figures)
        print_http_verdict(name, measured, figures)


def import_meters(env: dict[str, str]) -> float:
    """The bench's meters imported with `shahr import meters`: how long it took, in s."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meters.csv"
        meters_csv(path)
        t0 = time.perf_counter()
        subprocess.run(
            [SHAHR, "import", "meters", str(path)], env=env, check=True, capture_output=True
        )
        return time.perf_counter() - t0


def http_loads(
    name: str, base: str, search_url: str, figures: dict[str, object]
) -> dict[str, LoadResult]:
    """/healthz and search under wrk, printed as they come."""
    print(f"  {'load':<44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    runs: dict[str, Callable[[], LoadResult]] = {
        "/healthz, wrk 16 conns full speed": lambda: wrk(
            f"{base}/healthz", connections=16, duration_s=FULL_SPEED_S
        ),
        f"search, wrk paced at {HTTP_RATE}/s (16 conns)": lambda: wrk_paced(
            search_url, rate_per_s=HTTP_RATE, connections=16, duration_s=HTTP_DURATION_S
        ),
        f"search, wrk paced at {LIGHT_RATE}/s (4 conns)": lambda: wrk_paced(
            search_url, rate_per_s=LIGHT_RATE, connections=4, duration_s=FULL_SPEED_S
        ),
        "search, wrk 16 conns full speed": lambda: wrk(
            search_url, connections=16, duration_s=FULL_SPEED_S
        ),
    }
    wrk(f"{base}/healthz", connections=16, duration_s=1)  # warm-up
    wrk(search_url, connections=16, duration_s=1)
    measured = {}
    for label, run in runs.items():
        result = run()
        measured[label] = result
        figures[f"{name} {label}"] = result.__dict__
        print(
            f"  {label:<44} {result.requests_per_s:>8.0f} {result.p50_ms:>8.2f} "
            f"{result.p99_ms:>8.2f} {result.errors:>7}"
        )
    return measured


def print_http_verdict(
    name: str, measured: dict[str, LoadResult], figures: dict[str, object]
) -> None:
    health = measured["/healthz, wrk 16 conns full speed"]
    paced = measured[f"search, wrk paced at {HTTP_RATE}/s (16 conns)"]
    full = measured["search, wrk 16 conns full speed"]
    ratio = full.requests_per_s / health.requests_per_s
    figures[f"{name} ratio search/healthz req/s"] = ratio
    reached = paced.requests_per_s >= 0.95 * HTTP_RATE
    verdict = "meets" if reached and paced.p99_ms < 50 and paced.errors == 0 else "does NOT meet"
    print(
        f"  search / healthz at full speed: {ratio:.2f}x req/s, "
        f"p99 {full.p99_ms / health.p99_ms:.1f}x"
    )
    print(
        f"  claim (p99 < 50 ms at {HTTP_RATE:,} req/s): {verdict} it: achieved "
        f"{paced.requests_per_s:,.0f} req/s with p99 {paced.p99_ms:.1f} ms"
        + ("" if reached else f" (the server cannot sustain {HTTP_RATE:,}/s here)")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql", "both", "none"], default="both"
    )
    args = parser.parse_args()
    figures: dict[str, object] = {}
    print("machine: 2 shared cores; wrk (the load generator) runs on them beside the server\n")
    in_process(figures)
    if args.database in ("sqlite", "both"):
        through_http("sqlite", None, figures)
    if args.database in ("postgresql", "both"):
        url = postgres_url("shahr_bench_search")
        if url is None:
            print("\nthrough HTTP (postgresql): skipped, no server reachable")
        else:
            through_http("postgresql", url, figures)
    save("parking_search", figures)


if __name__ == "__main__":
    main()
