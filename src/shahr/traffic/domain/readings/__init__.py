"""Detector readings and plate passages: the stream payloads, decoded and checked.

A payload is refused with one named reason (counted in `/metrics`), never with an
exception that would stop the consumer. docs/traffic-feeds.md is the device-facing text.

Two ways to the same verdicts: `check_reading` (`checks`) judges one decoded item, and the
throughput path (`reading_columns` + `refusals`, in `columns`) judges a whole batch as
columns with numpy. The column path takes only items whose every field has the right type;
anything else goes item by item, so both give each item the same reason. `payloads` holds
the messages themselves.
"""

from shahr.traffic.domain.readings.checks import (
    FUTURE_TOLERANCE,
    LATE_WINDOW,
    MAX_ID_LENGTH,
    MAX_PERIOD_S,
    MAX_SPEED_KMH,
    MAX_VEHICLES_PER_S,
    check_passage,
    check_reading,
    parse_time,
    plate_key,
)
from shahr.traffic.domain.readings.columns import (
    EPOCH,
    ONE_US,
    REASON_CODES,
    FloatArray,
    IntArray,
    ReadingColumns,
    epoch_us,
    first_of_each_key,
    reading_columns,
    refusals,
)
from shahr.traffic.domain.readings.payloads import (
    MAX_BATCH,
    DetectorReading,
    PlatePassage,
    Rejection,
    RejectReason,
    batch_payload,
    decode,
    encode,
    is_reading,
    iso,
    reading_items,
    split_body,
    split_payload,
)

__all__ = [
    "EPOCH",
    "FUTURE_TOLERANCE",
    "LATE_WINDOW",
    "MAX_BATCH",
    "MAX_ID_LENGTH",
    "MAX_PERIOD_S",
    "MAX_SPEED_KMH",
    "MAX_VEHICLES_PER_S",
    "ONE_US",
    "REASON_CODES",
    "DetectorReading",
    "FloatArray",
    "IntArray",
    "PlatePassage",
    "ReadingColumns",
    "RejectReason",
    "Rejection",
    "batch_payload",
    "check_passage",
    "check_reading",
    "decode",
    "encode",
    "epoch_us",
    "first_of_each_key",
    "is_reading",
    "iso",
    "parse_time",
    "plate_key",
    "reading_columns",
    "reading_items",
    "refusals",
    "split_body",
    "split_payload",
]
