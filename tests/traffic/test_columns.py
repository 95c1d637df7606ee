"""The throughput path judges readings as columns; each item gets the verdict it would alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from shahr.bootstrap import Container
from shahr.kernel.clock import FixedClock
from shahr.traffic import services
from shahr.traffic.domain.readings import (
    REASON_CODES,
    DetectorReading,
    Rejection,
    check_reading,
    epoch_us,
    first_of_each_key,
    reading_columns,
    refusals,
)

from .network import reading

NOW = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)

stamps = st.sampled_from(
    [
        "2026-11-26T06:29:30Z",
        "2026-11-26T10:00:00+03:30",  # 06:30 UTC: Tehran time
        "2026-11-26T06:31:59.999999Z",  # just inside the future tolerance
        "2026-11-26T06:32:00.000001Z",  # just past it
        "2026-11-26T06:15:00Z",  # the edge of the late window
        "2026-11-26T06:14:59.999999Z",
        "2026-11-26T06:00:00Z",
    ]
)
values = st.one_of(
    st.integers(min_value=-5, max_value=8000),
    st.floats(min_value=-5, max_value=250, allow_nan=False),
)
well_typed = st.fixed_dictionaries(
    {
        "detector_id": st.sampled_from(["d-01-11-1", "d-01-11-2", "x"]),
        "observed_at": stamps,
        "period_s": st.integers(min_value=-2, max_value=4000),
        "count": st.integers(min_value=-2, max_value=8000),
        "occupancy_pct": values,
        "speed_kmh": st.one_of(st.none(), values),
    }
)


def one_by_one(items: list[dict[str, Any]], *, backfill: bool) -> list[str | None]:
    verdicts: list[str | None] = []
    for item in items:
        checked = check_reading(item, NOW, backfill=backfill)
        verdicts.append(checked.reason.value if isinstance(checked, Rejection) else None)
    return verdicts


@given(st.lists(well_typed, max_size=30), st.booleans())
def test_columns_give_every_reading_the_reason_check_reading_gives_it(
    items: list[dict[str, Any]], backfill: bool
) -> None:
    columns = reading_columns(items)

    assert columns is not None
    codes = refusals(columns, NOW, backfill=backfill).tolist()
    assert [None if c < 0 else REASON_CODES[c].value for c in codes] == one_by_one(
        items, backfill=backfill
    )
    for position, item in enumerate(items):
        checked = check_reading(item, NOW, backfill=backfill)
        if isinstance(checked, DetectorReading):
            assert columns.observed_at[position] == checked.observed_at
            assert columns.observed_us[position] == epoch_us(checked.observed_at)


def test_a_mistyped_item_sends_its_batch_item_by_item() -> None:
    good = reading("d-01-11-1", NOW).to_payload()
    for bad in (
        {**good, "count": 3.0},
        {**good, "count": True},
        {**good, "speed_kmh": "fast"},
        {**good, "observed_at": "yesterday"},
        {**good, "detector_id": ""},
        {key: value for key, value in good.items() if key != "period_s"},
        ["not", "an", "object"],
    ):
        assert reading_columns([good, bad]) is None
    assert reading_columns([good, {**good, "speed_kmh": None}]) is not None
    assert reading_columns([{k: v for k, v in good.items() if k != "speed_kmh"}]) is not None


def test_of_two_readings_with_one_key_the_first_is_kept() -> None:
    detector = np.array([3, 1, 3, 1, 2], dtype=np.int64)
    observed = np.array([10, 10, 10, 20, 10], dtype=np.int64)

    kept = first_of_each_key(detector, observed)

    assert sorted(kept.tolist()) == [0, 1, 3, 4]


async def test_one_bad_item_in_a_batch_is_refused_and_the_rest_counted(
    network: Container, clock: FixedClock
) -> None:
    now = clock.now()
    good = [
        reading(d, now - timedelta(seconds=5)).to_payload()
        for d in ("d-01-11-1", "d-01-11-2", "d-11-21-1")
    ]
    mistyped = {**good[0], "observed_at": (now - timedelta(seconds=35)).isoformat(), "count": "9"}
    batch = json.dumps({"readings": [*good, mistyped, good[1]]}).encode()
    singles = [json.dumps(item).encode() for item in good]

    report = await services.ingest_batch(network.database, clock, [batch, *singles])

    assert report.accepted == 3
    assert report.duplicates == 4  # one repeat inside the batch, three single messages
    assert dict(report.rejected) == {"malformed": 1}
