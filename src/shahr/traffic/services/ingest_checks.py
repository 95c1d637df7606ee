"""A batch of messages decoded and judged: readings of the right shape go on as columns, the
rest item by item, each refused with its reason; passages from known plate cameras only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from shahr.traffic.domain.detectors import DetectorKind
from shahr.traffic.domain.readings import (
    REASON_CODES,
    DetectorReading,
    PlatePassage,
    ReadingColumns,
    Rejection,
    RejectReason,
    check_passage,
    check_reading,
    decode,
    is_reading,
    reading_columns,
    reading_items,
    refusals,
    split_body,
)
from shahr.traffic.domain.state import IntArray
from shahr.traffic.queries.registry import Registry
from shahr.traffic.services.ingest_report import IngestReport, reject


@dataclass
class SortedBatch:
    readings: list[ReadingColumns]  # well-shaped, values not judged yet
    checked: list[DetectorReading]  # judged item by item, values passed
    passages: list[PlatePassage]
    report: IngestReport


def sort_batch(
    payloads: Sequence[bytes], registry: Registry, now: datetime, *, backfill: bool
) -> SortedBatch:
    """Decode the payloads; readings of the right shape go on as columns, the rest item by item."""
    batch = SortedBatch([], [], [], IngestReport())
    singles: list[Any] = []  # one-reading messages, judged together
    for payload in payloads:
        body = decode(payload)
        if isinstance(body, Rejection):
            reject(batch.report, body.reason)
            continue
        items = reading_items(body)
        if items is None:
            _sort_items(batch, split_body(body), registry, now, backfill=backfill)
        elif len(items) == 1 and items[0] is body:
            singles.append(body)
        else:
            _take_columns(batch, items, registry, now, backfill=backfill)
    _take_columns(batch, singles, registry, now, backfill=backfill)
    return batch


def _take_columns(
    batch: SortedBatch, items: list[Any], registry: Registry, now: datetime, *, backfill: bool
) -> None:
    if not items:
        return
    columns = reading_columns(items)
    if columns is None:
        # Some item is mistyped: judge these one by one to give each its own reason.
        _sort_items(batch, items, registry, now, backfill=backfill)
    else:
        batch.readings.append(columns)


def _sort_items(
    batch: SortedBatch,
    items: Iterable[dict[str, Any] | Rejection],
    registry: Registry,
    now: datetime,
    *,
    backfill: bool,
) -> None:
    report = batch.report
    for item in items:
        if isinstance(item, Rejection):
            reject(report, item.reason)
            continue
        if not isinstance(item, dict):
            reject(report, RejectReason.malformed)
            continue
        checked: DetectorReading | PlatePassage | Rejection
        if is_reading(item):
            checked = check_reading(item, now, backfill=backfill)
        elif "camera_id" in item:
            checked = check_passage(item, now, backfill=backfill)
        else:
            checked = Rejection(RejectReason.malformed, "neither a reading nor a passage")
        if isinstance(checked, Rejection):
            reject(report, checked.reason)
        elif isinstance(checked, DetectorReading):
            batch.checked.append(checked)
        else:
            detector = registry.detector(checked.camera_id)
            if detector is None:
                reject(report, RejectReason.unknown_detector)
            elif detector.kind is not DetectorKind.plate_camera:
                reject(report, RejectReason.wrong_kind)
            else:
                batch.passages.append(checked)


def accepted_readings(
    batch: SortedBatch, registry: Registry, now: datetime, *, backfill: bool
) -> tuple[ReadingColumns, IntArray]:
    """The readings that pass every check, and their detectors' registry positions."""
    readings = ReadingColumns.concat([*batch.readings, ReadingColumns.of(batch.checked)])
    code = refusals(readings, now, backfill=backfill)
    index_of = registry.detector_index.get
    detector = np.array([index_of(d, -1) for d in readings.detector_id], dtype=np.int64)
    known = detector >= 0
    code[(code < 0) & ~known] = REASON_CODES.index(RejectReason.unknown_detector)
    camera = np.zeros(len(readings), dtype=np.bool_)
    camera[known] = registry.is_camera[detector[known]]
    code[(code < 0) & camera] = REASON_CODES.index(RejectReason.wrong_kind)
    refused = code[code >= 0]
    if len(refused):
        for reason_code, times in enumerate(np.bincount(refused).tolist()):
            if times:
                reject(batch.report, REASON_CODES[reason_code], times)
    accepted = np.flatnonzero(code < 0)
    return readings.take(accepted), detector[accepted]
