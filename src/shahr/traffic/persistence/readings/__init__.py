"""Raw readings and plate passages (de-duplicated by key), and per-interval detector sums.

Idempotency lives here: a reading is added to its interval's sums only in the transaction
that first inserts it, so a redelivered message inserts nothing and adds nothing.

The ingest path takes columns: on PostgreSQL each step copies its rows into a temporary
table and runs one statement over them (`staged`), so a batch of tens of thousands of
readings costs a few round trips and no per-row SQL; on SQLite the same steps run as
executemany. `tables` holds the rows, `totals` the sums handed back, `repository` the steps.
"""

from shahr.traffic.persistence.readings.repository import ReadingRepository
from shahr.traffic.persistence.readings.staged import STAGED_READING, STAGED_SUMS
from shahr.traffic.persistence.readings.tables import (
    SUMS_FILLFACTOR,
    DetectorIntervalRow,
    JourneyRow,
    PassageRow,
    ReadingRow,
)
from shahr.traffic.persistence.readings.totals import (
    RETURNED,
    SUM_COLUMNS,
    IntervalSums,
    IntervalTotals,
)

__all__ = [
    "RETURNED",
    "STAGED_READING",
    "STAGED_SUMS",
    "SUMS_FILLFACTOR",
    "SUM_COLUMNS",
    "DetectorIntervalRow",
    "IntervalSums",
    "IntervalTotals",
    "JourneyRow",
    "PassageRow",
    "ReadingRepository",
    "ReadingRow",
]
