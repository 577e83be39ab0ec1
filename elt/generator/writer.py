"""Writes one table-day to files (CSV, JSON lines, Parquet) and damages some lines.

Structural damage happens here because it only exists in bytes: a line with a field too
many or too few, a stray quote, bytes that are not UTF-8, a JSON line cut short.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from elt.generator.config import STRUCTURAL_KINDS, GeneratorConfig
from elt.generator.messiness import BIT, Batch

FORMATS = {
    "shop/customers": "csv",
    "shop/products": "csv",
    "shop/orders": "csv",
    "shop/order_items": "csv",
    "payments/payments": "jsonl",
    "finance/fx_rates": "parquet",
}


@dataclasses.dataclass
class WrittenFile:
    path: Path
    rows: int
    bytes: int
    record: dict[str, Any]


def _damage(line: bytes, kind: str, choice: int, is_json: bool) -> bytes:
    if is_json:
        if kind == "bad_quoting":  # cut short: the object never closes
            return line[: max(1, len(line) // 2)]
        pos = line.find(b':"') + 2  # invalid_utf8: inside the first string value
        return line[:pos] + b"\xff\xfe" + line[pos:]
    fields = line.split(b",")
    if kind == "wrong_column_count":
        return b",".join(fields[:-1]) if choice % 2 else line + b",unexpected"
    if kind == "bad_quoting":  # a quoted value followed by more text: "Smith"x
        fields[1] = b'"' + fields[1].strip(b'"') + b'"x'
        return b",".join(fields)
    fields[1] = fields[1][:1] + b"\xff\xfe" + fields[1][1:]  # invalid_utf8
    return b",".join(fields)


def _write_text(con: duckdb.DuckDBPyConnection, table: pa.Table, path: Path, fmt: str) -> None:
    con.register("part_rows", table)
    option = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT json"
    con.execute(f"COPY part_rows TO '{path}' ({option})")
    con.unregister("part_rows")


def write_table_day(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    name: str,
    day: dt.date,
    batch: Batch,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
) -> tuple[list[WrittenFile], np.ndarray]:
    """Write ``batch`` as part files; return them and the mask of rows damaged."""
    fmt = FORMATS[name]
    folder = out_dir / name / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    n = batch.table.num_rows
    damaged = np.zeros(n, bool)
    files = []
    for part, lo in enumerate(range(0, max(n, 1), cfg.rows_per_file)):
        hi = min(n, lo + cfg.rows_per_file)
        path = folder / f"part-{part:03d}.{fmt}"
        rows = batch.table.slice(lo, hi - lo)
        flags = batch.flags[lo:hi].copy()
        malformed: list[list[Any]] = []
        if fmt == "parquet":
            pq.write_table(rows, path)
        else:
            _write_text(con, rows, path, fmt)
            eligible = ~batch.protected[lo:hi]
            kinds = [
                k for k in STRUCTURAL_KINDS if not (fmt == "jsonl" and k == "wrong_column_count")
            ]
            hits: dict[int, str] = {}
            for kind in kinds:
                idx = np.flatnonzero(eligible)
                k = (
                    rng.binomial(len(idx), cfg.rates[kind])
                    if len(idx) and cfg.rates[kind] > 0
                    else 0
                )
                for row in rng.choice(idx, size=k, replace=False) if k else []:
                    hits[int(row)] = kind
                    eligible[row] = False
            if hits:
                lines = path.read_bytes().split(b"\n")
                header = 1 if fmt == "csv" else 0
                for row in sorted(hits):
                    kind = hits[row]
                    lines[row + header] = _damage(lines[row + header], kind, row, fmt == "jsonl")
                    flags[row] = BIT[kind]
                    damaged[lo + row] = True
                    malformed.append([row + header + 1, kind])
                path.write_bytes(b"\n".join(lines))
        counts = {kind: int(np.count_nonzero(flags & bit)) for kind, bit in BIT.items()}
        record = {
            "format": fmt,
            "rows": hi - lo,
            "columns": rows.column_names,
            "counts": counts,
            "malformed_lines": malformed,
        }
        files.append(WrittenFile(path, hi - lo, path.stat().st_size, record))
    return files, damaged
