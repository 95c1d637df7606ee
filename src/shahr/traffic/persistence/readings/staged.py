"""The PostgreSQL ingest path's SQL: each step copies its rows into a temporary table and
runs one statement over them (docs/decisions/0015)."""

from __future__ import annotations

from shahr.traffic.domain.state import INTERVAL_S
from shahr.traffic.persistence.readings.totals import SUM_COLUMNS

_INTERVAL_INDEX = f"floor(extract(epoch FROM interval_start) / {INTERVAL_S})::bigint"

STAGED_READING = {
    "n": "int",
    "detector_id": "text",
    "observed_at": "timestamptz",
    "period_s": "int",
    "count": "int",
    "occupancy_pct": "float8",
    "speed_kmh": "float8",
}
STAGED_SUMS = {
    "detector_id": "text",
    "interval_start": "timestamptz",
    "readings": "int",
    "count": "int",
    "period_s": "float8",
    "occupancy_s": "float8",
    "speed_count": "float8",
    "inv_speed": "float8",
}

INSERT_READINGS = """
WITH inserted AS (
    INSERT INTO traffic_reading
        (detector_id, observed_at, period_s, count, occupancy_pct, speed_kmh, received_at)
    SELECT detector_id, observed_at, period_s, count, occupancy_pct, speed_kmh,
        CAST(:received_at AS timestamptz)
    FROM traffic_staged_reading
    ON CONFLICT (detector_id, observed_at) DO NOTHING
    RETURNING detector_id, observed_at
)
SELECT staged.n FROM traffic_staged_reading AS staged
LEFT JOIN inserted USING (detector_id, observed_at)
WHERE inserted.detector_id IS NULL
"""

_TOTALS = ", ".join(f"array_agg({c})" for c in ("detector_id", "interval", *SUM_COLUMNS))

# The totals come back as one row of arrays, which asyncpg decodes far faster than rows.
ADD_SUMS = f"""
WITH totals AS (
    INSERT INTO traffic_detector_interval ({", ".join(STAGED_SUMS)})
    SELECT {", ".join(STAGED_SUMS)} FROM traffic_staged_sums
    ON CONFLICT (detector_id, interval_start) DO UPDATE SET
        {", ".join(f"{c} = traffic_detector_interval.{c} + excluded.{c}" for c in SUM_COLUMNS)}
    RETURNING detector_id, {_INTERVAL_INDEX} AS interval, {", ".join(SUM_COLUMNS)}
)
SELECT {_TOTALS} FROM totals
"""  # noqa: S608  # only this module's own column names are formatted in

TOTALS_OF = f"""
WITH found AS (
    SELECT detector_id, {_INTERVAL_INDEX} AS interval, {", ".join(SUM_COLUMNS)}
    FROM traffic_detector_interval
    WHERE (detector_id, interval_start) IN (
        SELECT * FROM unnest(CAST(:detector_id AS text[]), CAST(:interval_start AS timestamptz[]))
    )
)
SELECT {_TOTALS} FROM found
"""  # noqa: S608  # only this module's own column names are formatted in
