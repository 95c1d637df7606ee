"""Detector and camera files: CSV with a header, or GeoJSON points, as numbered rows.

A CSV row's number is its line in the file (the header is line 1); a GeoJSON feature's is
its place in the collection (the first is 1). A point's coordinates become `lon` and `lat`;
a property of the same name wins over them (a file may place a device on its segment by
`segment_id` and draw it anywhere).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shahr.traffic.domain.inventory import MAX_ROWS, InventoryFormatError

Rows = list[tuple[int, dict[str, Any]]]


def read_inventory_file(path: Path, *, required: Sequence[str]) -> Rows:
    """The file's rows; refuses a file that is not UTF-8 CSV or GeoJSON, or lacks a column."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InventoryFormatError("The file is not UTF-8 text.") from None
    return read_inventory_text(
        text, geojson=path.suffix.lower() in {".geojson", ".json"}, required=required
    )


def read_inventory_text(text: str, *, geojson: bool, required: Sequence[str]) -> Rows:
    rows = _geojson_rows(text) if geojson else _csv_rows(text)
    if len(rows) > MAX_ROWS:
        raise InventoryFormatError("A file may hold at most {limit} rows.", limit=MAX_ROWS)
    if not geojson and rows:
        missing = [name for name in required if name not in rows[0][1]]
        if missing:
            raise InventoryFormatError(
                "The file's header lacks the columns: {columns}.", columns=", ".join(missing)
            )
    return rows


def _csv_rows(text: str) -> Rows:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise InventoryFormatError("The file holds no header row.")
    rows: Rows = []
    for record in reader:
        fields = {
            (key or "").strip(): (value or "").strip()
            for key, value in record.items()
            if isinstance(value, str)
        }
        if any(fields.values()):
            rows.append((reader.line_num, fields))
    return rows


def _geojson_rows(text: str) -> Rows:
    try:
        document = json.loads(text)
    except ValueError:
        raise InventoryFormatError("The file is not valid GeoJSON.") from None
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        raise InventoryFormatError("A GeoJSON file must be a FeatureCollection.")
    rows: Rows = []
    for number, feature in enumerate(features, start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        fields: dict[str, Any] = {}
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") == "Point":
            coordinates = geometry.get("coordinates")
            if isinstance(coordinates, list) and len(coordinates) >= 2:
                fields["lon"], fields["lat"] = coordinates[0], coordinates[1]
        if isinstance(properties, dict):
            fields.update({str(k): v for k, v in properties.items() if v is not None})
        if isinstance(feature, dict) and "id" not in fields and feature.get("id") is not None:
            fields["id"] = feature["id"]
        rows.append((number, fields))
    return rows
