"""Finding a source table's files and fingerprinting them (size, time, content hash, records).

Files are found with the table's glob pattern (and the same pattern ending in ``.gz`` or
``.zst``), then used by their literal path. A file must lie inside the data directory once
symlinks are resolved; two paths to one file load it once. Compression is read from the
file's first bytes (gzip, zstd); the hash and size are those of the bytes as stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from elt.loader.config import SourceTable
from elt.loader.errors import FileLoadError

CHUNK = 1 << 20
COMPRESSED_SUFFIXES = (".gz", ".zst")
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_ZIP = b"PK\x03\x04"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclasses.dataclass(frozen=True)
class Found:
    """A path the table's pattern matched, and why it must not load, if so."""

    path: Path  # as found (inside the data directory, maybe a symlink)
    rel: str  # relative to the data directory: the file's identity in the manifest
    outside: str | None = None  # resolved target when it lies outside the data directory
    same_as: str | None = None  # rel of an earlier path to the same file


@dataclasses.dataclass(frozen=True)
class SourceFile:
    table: SourceTable
    path: Path  # absolute
    rel: str
    size: int
    modified_at: dt.datetime
    sha256: str
    lines: int  # physical lines of the (decompressed) text; rows for Parquet; 0 if unreadable
    compression: str | None = None  # gzip | zstd
    unreadable: str | None = None  # why the file cannot be read at all (it then fails)
    has_nul: bool = False  # a NUL byte somewhere in the text: its rows are checked one by one

    @property
    def records(self) -> int:
        """Records the file holds: its lines, less the header for CSV; its rows for Parquet."""
        if self.table.format == "csv":
            return max(self.lines - 1, 0)
        return self.lines


def discover(table: SourceTable, data_dir: Path) -> list[Found]:
    """The table's files in name order (day folders sort by date)."""
    root = data_dir.resolve()
    patterns = [table.path]
    if table.format != "parquet":
        patterns += [table.path + s for s in COMPRESSED_SUFFIXES if not table.path.endswith(s)]
    paths = sorted({p for pattern in patterns for p in data_dir.glob(pattern) if p.is_file()})
    found: list[Found] = []
    first_rel: dict[Path, str] = {}
    for path in paths:
        rel = str(path.relative_to(data_dir))
        real = path.resolve()
        if not real.is_relative_to(root):
            found.append(Found(path, rel, outside=str(real)))
        elif real in first_rel:
            found.append(Found(path, rel, same_as=first_rel[real]))
        else:
            first_rel[real] = rel
            found.append(Found(path, rel))
    return found


def stat(path: Path) -> tuple[int, dt.datetime]:
    st = path.stat()
    return st.st_size, _EPOCH + dt.timedelta(microseconds=st.st_mtime_ns // 1000)


def compression_of(path: Path) -> str | None:
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(_ZIP):
        raise FileLoadError(
            "it is a ZIP archive; the loader reads plain, gzip (.gz) or zstd (.zst) files: unzip it"
        )
    return next((codec for magic, codec in _MAGIC.items() if head.startswith(magic)), None)


def open_text(path: Path, compression: str | None) -> BinaryIO:
    """The file's bytes, decompressed."""
    if compression is None:
        return path.open("rb")
    stream: BinaryIO = pa.CompressedInputStream(pa.OSFile(str(path)), compression)
    return stream


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(CHUNK):
            yield bytes(chunk)


def first_line(f: SourceFile) -> bytes:
    """The first line of the (decompressed) file, with its newline."""
    head = b""
    for chunk in _chunks(open_text(f.path, f.compression)):
        head += chunk
        if b"\n" in head:
            break
    return head.split(b"\n", 1)[0] + b"\n" if b"\n" in head else head


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes as stored, read in chunks."""
    digest = hashlib.sha256()
    for chunk in _chunks(path.open("rb")):
        digest.update(chunk)
    return digest.hexdigest()


def read_all(f: SourceFile) -> bytes:
    with open_text(f.path, f.compression) as stream:
        return bytes(stream.read())


def fingerprint(table: SourceTable, data_dir: Path, path: Path) -> SourceFile:
    """Hash the stored bytes; count the lines of the text (or the rows of a Parquet file).

    A file that cannot be read as its container (a ZIP archive, a broken gzip stream) gets
    ``unreadable`` set and no lines: it fails when its turn comes.
    """
    rel = str(path.relative_to(data_dir))
    size, modified = stat(path)
    sha = sha256_file(path)
    if table.format == "parquet":
        return SourceFile(table, path, rel, size, modified, sha, _parquet_rows(path))
    try:
        compression = compression_of(path)
    except FileLoadError as exc:
        return SourceFile(table, path, rel, size, modified, sha, 0, None, f"{rel}: {exc}")
    lines = 0
    last = b"\n"
    nul = False
    try:
        for chunk in _chunks(open_text(path, compression)):
            lines += chunk.count(b"\n")
            nul = nul or b"\x00" in chunk
            last = chunk[-1:]
    except (OSError, pa.ArrowException) as exc:
        why = f"{rel}: cannot decompress it as {compression}: {exc}"
        return SourceFile(table, path, rel, size, modified, sha, 0, compression, why)
    if last != b"\n":
        lines += 1
    return SourceFile(table, path, rel, size, modified, sha, lines, compression, has_nul=nul)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError, pa.ArrowException):
        return 0  # unreadable: the parse step fails the file with DuckDB's own message
