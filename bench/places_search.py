"""Place search and the offline base layer: how long a search takes, and how big the layer is.

Claim (issue 8): the place index is small enough to build in memory at start-up and to scan
per keystroke; the base layer every map loads stays a small file.

1. The demo city, seeded into a SQLite file with `shahr demo seed` as `shahr serve --demo`
   does: the atlas (place index and base layer) built from its database (`AtlasCache`),
   its build time, the number of places, and the base layer's size raw and gzipped.
2. Queries against the demo city's index, one at a time, each the median of several
   runs: a Persian prefix, a Persian name typed with Arabic letters, Persian digits, an
   English infix, a miss, and the longest query allowed (100 characters).
3. The same queries against a city-scale index: the demo's places plus 20,000 generated
   street names (a large city's named streets), to show how the linear scan grows.

    .venv/bin/python bench/places_search.py
"""

from __future__ import annotations

import asyncio
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import SHAHR, save
from shahr.kernel.db import Database
from shahr.maps.domain import Place, PlaceIndex, PlaceKind
from shahr.maps.queries import Atlas, AtlasCache

QUERIES = {
    "Persian prefix «تجر»": "تجر",
    "Arabic letters «ميدان آزادي»": "ميدان آزادي",
    "Persian digits «منطقه ۷»": "منطقه ۷",
    "English infix «sadr»": "sadr",
    "miss «Atlantis»": "Atlantis",
    "100 characters": ("خیابان ولیعصر " * 8)[:100],
}
RUNS = 7
SYLLABLES = ["ba", "ra", "ka", "sha", "mo", "da", "ne", "zar", "gol", "sar", "var", "ab"]


def seeded_database(var_dir: Path) -> str:
    env = {**os.environ, "SHAHR_VAR_DIR": str(var_dir), "SHAHR_DEMO": "1"}
    env.pop("SHAHR_DATABASE_URL", None)
    subprocess.run([SHAHR, "demo", "seed"], env=env, check=True, capture_output=True)
    return f"sqlite+aiosqlite:///{var_dir / 'shahr.db'}"


def per_query_us(index: PlaceIndex, query: str) -> float:
    """The median time of one search, in microseconds, over `RUNS` runs of a batch."""
    batch = 200
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        for _ in range(batch):
            index.search(query)
        times.append((time.perf_counter() - started) / batch * 1e6)
    return statistics.median(times)


def generated_streets(count: int) -> list[Place]:
    rng = random.Random(8)
    streets = []
    for n in range(count):
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        streets.append(
            Place(PlaceKind.street, f"خیابان {name} {n}", f"{name} Street {n}", 51.4, 35.7)
        )
    return streets


async def build(url: str) -> tuple[Atlas, float]:
    """The atlas as a server builds it at start-up, and how long that took."""
    database = Database(url)
    try:
        started = time.perf_counter()
        atlas = await AtlasCache(database).current()
        return atlas, time.perf_counter() - started
    finally:
        await database.dispose()


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="shahr-bench-places-"))
    try:
        atlas, build_s = asyncio.run(build(seeded_database(var_dir)))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    figures: dict[str, object] = {
        "atlas_build_ms": round(build_s * 1000, 1),
        "places": atlas.places.size,
        "base_layer_bytes": len(atlas.base_layer),
        "base_layer_gzip_bytes": len(gzip.compress(atlas.base_layer)),
    }
    # These machines are shared: the load says how far to trust the times.
    load = os.getloadavg()[0]
    figures["load_average_1min"] = round(load, 1)
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(f"demo city: {atlas.places.size} places; atlas built in {build_s * 1000:.0f} ms")
    print(
        f"base layer: {len(atlas.base_layer) / 1024:.1f} KiB raw, "
        f"{len(gzip.compress(atlas.base_layer)) / 1024:.1f} KiB gzipped"
    )
    big = PlaceIndex([*atlas.places.places, *generated_streets(20_000)])
    for label, index in (("demo city", atlas.places), (f"{big.size} places", big)):
        print(f"\n{label}: median time per search")
        for name, query in QUERIES.items():
            us = per_query_us(index, query)
            figures[f"{label}: {name} (us)"] = round(us, 1)
            print(f"  {name:32} {us:9.1f} µs")
    save("places_search", figures)


if __name__ == "__main__":
    main()
