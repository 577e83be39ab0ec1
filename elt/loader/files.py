"""Finding a source table's files and fingerprinting them (size, content hash, line count)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from elt.loader.config import SourceTable

CHUNK = 1 << 20


@dataclasses.dataclass(frozen=True)
class SourceFile:
    table: SourceTable
    path: Path  # absolute
    rel: str  # relative to the data directory: the file's identity in the manifest
    size: int
    sha256: str
    lines: int  # physical lines (a last line without a newline counts); rows for Parquet

    @property
    def records(self) -> int:
        """Records the file holds: its lines, less the header for CSV; its rows for Parquet."""
        if self.table.format == "csv":
            return max(self.lines - 1, 0)
        return self.lines


def fingerprint(table: SourceTable, data_dir: Path, path: Path) -> SourceFile:
    digest = hashlib.sha256()
    lines = 0
    size = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            size += len(chunk)
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    if table.format == "parquet":
        lines = _parquet_rows(path)
    return SourceFile(table, path, str(path.relative_to(data_dir)), size, digest.hexdigest(), lines)


def discover(table: SourceTable, data_dir: Path) -> list[Path]:
    """The table's files in name order (day folders sort by date)."""
    return sorted(p for p in data_dir.glob(table.path) if p.is_file())


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (
        OSError,
        ValueError,
    ):  # unreadable: the parse step fails the file with DuckDB's own message
        return -1
