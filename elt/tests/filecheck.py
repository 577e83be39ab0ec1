"""An independent reading of generated files: finds each messiness kind from the bytes alone.

The generator's injection record says what it injected; these functions find the same
things in the files without using the generator's code, so a test can compare the two.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

CLEAN_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
NUMBER = re.compile(r"^\d+(\.\d+)?$")
NULL_TOKENS = {" ", "NULL", "N/A", "null", ""}
ORPHAN_ID_BASE = 900_000_000
# table -> (timestamp that must fall on the file's day, or None)
NATURAL_TIME = {
    "shop/order_items": "created_at",
    "payments/payments": "updated_at",
    "shop/orders": "updated_at",
}
CROSS_DAY = {"shop/customers", "shop/orders", "shop/order_items", "payments/payments"}


def parse_ts(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def data_lines(path: Path) -> tuple[bytes | None, list[bytes]]:
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if path.suffix == ".csv":
        return lines[0], lines[1:]
    return None, lines


def parse_line(line: bytes, header: list[str] | None) -> tuple[str | None, dict[str, Any] | None]:
    """(structural kind or None, fields)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8", None
    if header is None:
        try:
            return None, json.loads(text)
        except json.JSONDecodeError:
            return "bad_quoting", None
    try:
        fields = next(csv.reader(io.StringIO(text), strict=True))
    except csv.Error:
        return "bad_quoting", None
    if len(fields) != len(header):
        return "wrong_column_count", None
    return None, dict(zip(header, fields, strict=False))


Previous = tuple[list[str], set[tuple[Any, ...]]]  # yesterday's columns and rows


def _row_key(row: dict[str, Any], columns: list[str]) -> tuple[Any, ...] | None:
    """The row as yesterday's columns would show it; None if a newer column holds a value."""
    if any(v not in ("", None) for k, v in row.items() if k not in columns):
        return None
    return tuple(row.get(c) for c in columns)


def rows_of(path: Path) -> Previous:
    header_line, lines = data_lines(path)
    header = next(csv.reader([header_line.decode()])) if header_line is not None else None
    columns: list[str] = header or []
    keys = set()
    for line in lines:
        kind, row = parse_line(line, header)
        if kind is None and row is not None:
            columns = columns or list(row)
            keys.add(tuple(row.get(c) for c in columns))
    return columns, keys


def inspect(
    path: Path, table: str, day: dt.date, previous: Previous | None
) -> tuple[Counter[str], list[int], int]:
    """Counts per kind found in one file, its malformed line numbers, and its data rows."""
    header_line, lines = data_lines(path)
    header = next(csv.reader([header_line.decode()])) if header_line is not None else None
    found: Counter[str] = Counter()
    found["duplicate_in_file"] = len(lines) - len(set(lines))
    malformed: list[int] = []
    seen: set[bytes] = set()
    day_start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    offset = 2 if header is not None else 1
    for i, line in enumerate(lines):
        if line in seen:
            continue
        seen.add(line)
        kind, row = parse_line(line, header)
        if kind:
            found[kind] += 1
            malformed.append(i + offset)
            continue
        if table in CROSS_DAY and previous and row and _row_key(row, previous[0]) in previous[1]:
            found["duplicate_across_days"] += 1
            continue
        assert row is not None
        if table == "shop/customers":
            email = row["email"]
            found["dirty_email"] += email != email.strip().lower()
            found["dirty_null"] += row["phone"] in NULL_TOKENS and row["phone"] != ""
        if table == "payments/payments":
            found["dirty_null"] += (
                isinstance(row["failure_reason"], str) and row["failure_reason"] in NULL_TOKENS
            )
            found["orphan"] += int(row["order_id"]) >= ORPHAN_ID_BASE
        if table in ("shop/customers", "shop/orders", "payments/payments"):
            found["dirty_timestamp"] += not CLEAN_TS.match(str(row["updated_at"]))
        if table == "shop/order_items":
            found["orphan"] += int(row["product_id"]) >= ORPHAN_ID_BASE
            found["unparseable_value"] += not all(
                NUMBER.match(row[c]) for c in ("quantity", "unit_price", "discount")
            )
        if table == "shop/products":
            found["unparseable_value"] += not NUMBER.match(row["unit_price"])
        if table in NATURAL_TIME and parse_ts(str(row[NATURAL_TIME[table]])) < day_start:
            found["out_of_order" if table == "shop/orders" else "late_arriving"] += 1
    return found, malformed, len(lines)


def inspect_dataset(root: Path) -> dict[str, tuple[Counter[str], list[int], int]]:
    """Inspect every data file of a generated dataset, keyed by path relative to ``root``."""
    results = {}
    previous: dict[str, Previous] = {}
    for record_path in sorted((root / "_meta" / "injected").glob("*.json")):
        day = dt.date.fromisoformat(record_path.stem)
        record = json.loads(record_path.read_text())
        today: dict[str, Previous] = {}
        for rel in sorted(record["files"]):
            path = root / rel
            table = "/".join(Path(rel).parts[:2])
            if path.suffix == ".parquet":
                continue
            results[rel] = inspect(path, table, day, previous.get(table))
            columns, keys = rows_of(path)
            today.setdefault(table, (columns, set()))[1].update(keys)
        previous = today
    return results
