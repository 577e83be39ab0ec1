"""Finding a source table's files and fingerprinting them (size, time, content hash, records).

Files are found with the table's glob pattern (and the same pattern ending in ``.gz`` or
``.zst``), then used by their literal path. A file must lie inside the data directory once
symlinks are resolved; two paths to one file load it once. Never matched: DuckDB database
files (``*.duckdb`` and their ``.wal``), the warehouse's own files, anything under a folder
holding ``.elt-archive`` (``elt archive`` marks its folder so), and a source's readiness
marker. A name that is not valid UTF-8 is refused alone (it cannot be recorded as text).
Compression is read from the file's first bytes (gzip, zstd); the hash and size are those of
the bytes as stored. Fingerprinting also notes the text's line endings (LF, CRLF, a mix, or
CR alone), its blank lines and whether its last line is unterminated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import itertools
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa

from elt.errors import FileLoadError, FileNotReady
from elt.loader.config import SourceTable

CHUNK = 1 << 20
COMPRESSED_SUFFIXES = (".gz", ".zst")
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_ZIP = b"PK\x03\x04"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ARCHIVE_MARKER = ".elt-archive"  # elt archive writes it at its folder's root: never loaded from
DATABASE_SUFFIXES = (".duckdb", ".duckdb.wal")


@dataclasses.dataclass(frozen=True)
class Found:
    """A path the table's pattern matched, and why it must not load, if so."""

    path: Path  # as found (inside the data directory, maybe a symlink)
    rel: str  # relative to the data directory: the file's identity in the manifest
    outside: str | None = None  # resolved target when it lies outside the data directory
    same_as: str | None = None  # rel of an earlier path to the same file
    bad_name: str | None = None  # why the name cannot be recorded (not valid UTF-8)


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
    has_quotes: bool = True  # a double quote somewhere in the text (True until looked at)
    newlines: str = "lf"  # lf | crlf | mixed (some CRLF among LF) | cr (CR alone, no LF)
    blank_lines: tuple[int, ...] = ()  # empty lines of a CSV file: no record, skipped
    open_end: bool = False  # the last line has no newline (a writer may still be at it)
    origin: Path | None = None  # the file itself, when ``path`` is a normalised copy
    head: bytes | None = None  # the first line as fingerprinting saw it (None: read it again)

    @property
    def records(self) -> int:
        """Records the file holds: its lines less the header and blank lines for CSV; its
        lines for JSON lines (a blank line is quarantined); its rows for Parquet."""
        if self.table.format == "csv":
            return max(self.lines - 1 - len(self.blank_lines), 0)
        return self.lines

    @property
    def stored_at(self) -> Path:
        return self.origin or self.path

    @property
    def needs_copy(self) -> bool:
        """Line endings DuckDB's reader cannot take as they are: read from a normalised copy."""
        return self.newlines in ("mixed", "cr")


def _in_archive(path: Path, data_dir: Path, seen: dict[Path, bool]) -> bool:
    """Whether a folder between the data directory and the file holds the archive marker."""
    for folder in itertools.takewhile(lambda p: p != data_dir, path.parents):
        if folder not in seen:
            seen[folder] = (folder / ARCHIVE_MARKER).exists()
        if seen[folder]:
            return True
    return False


def _never_loaded(path: Path, table: SourceTable, own: Collection[Path]) -> bool:
    """The warehouse's files, any DuckDB database, the source's readiness marker."""
    name = path.name
    if name.endswith(DATABASE_SUFFIXES) or name == ARCHIVE_MARKER:
        return True
    if table.ready and table.ready.marker == name:
        return True
    return bool(own) and path.resolve() in own


def discover(table: SourceTable, data_dir: Path, own: Collection[Path] = ()) -> list[Found]:
    """The table's files in name order (day folders sort by date); ``own`` are the
    warehouse's files (resolved), never loaded."""
    root = data_dir.resolve()
    patterns = [table.path]
    if table.format != "parquet":
        patterns += [table.path + s for s in COMPRESSED_SUFFIXES if not table.path.endswith(s)]
    archived: dict[Path, bool] = {}
    paths = sorted(
        {
            p
            for pattern in patterns
            for p in data_dir.glob(pattern)
            if p.is_file()
            and not _never_loaded(p, table, own)
            and not _in_archive(p, data_dir, archived)
        }
    )
    found: list[Found] = []
    first_rel: dict[Path, str] = {}
    for path in paths:
        rel = str(path.relative_to(data_dir))
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            found.append(
                Found(
                    path,
                    shown,
                    bad_name=f"{shown}: its name is not valid UTF-8; refused (rename the file)",
                )
            )
            continue
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


def check_unchanged(f: SourceFile) -> None:
    """Raise FileNotReady when the file's size or modification time moved since it was
    fingerprinted (a writer is still at it)."""
    try:
        now = stat(f.stored_at)
    except OSError:
        raise FileNotReady(
            f"{f.rel}: it disappeared while loading; left for the next run"
        ) from None
    if now != (f.size, f.modified_at):
        raise FileNotReady(
            f"{f.rel}: it changed while loading ({f.size:,} → {now[0]:,} bytes): still being "
            "written? Nothing of it is loaded; it loads on a later run, once it stays unchanged"
        )


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


def _chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    with stream:
        while chunk := stream.read(size):
            yield bytes(chunk)


def first_line(f: SourceFile) -> bytes:
    """The first line of the (decompressed) file, with its newline."""
    if f.head is not None:
        return f.head
    head = b""
    for chunk in _chunks(open_text(f.path, f.compression), 1 << 16):
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
    if table.format == "parquet":
        return SourceFile(table, path, rel, size, modified, sha256_file(path), _parquet_rows(path))
    try:
        compression = compression_of(path)
    except FileLoadError as exc:
        sha = sha256_file(path)
        return SourceFile(table, path, rel, size, modified, sha, 0, None, f"{rel}: {exc}")
    counts = _LineCounts()
    digest = hashlib.sha256()
    try:
        if compression is None:  # one pass: the bytes hashed are the text counted
            for chunk in _chunks(path.open("rb")):
                digest.update(chunk)
                counts.add(chunk)
            sha = digest.hexdigest()
        else:
            sha = sha256_file(path)
            for chunk in _chunks(open_text(path, compression)):
                counts.add(chunk)
    except (OSError, pa.ArrowException) as exc:
        why = f"{rel}: cannot decompress it as {compression}: {exc}"
        return SourceFile(table, path, rel, size, modified, sha256_file(path), 0, compression, why)
    f = SourceFile(
        table,
        path,
        rel,
        size,
        modified,
        sha,
        counts.lines,
        compression,
        has_nul=counts.nul,
        has_quotes=counts.quotes,
        newlines=counts.newlines,
        open_end=counts.open_end,
        head=counts.head,
    )
    return f


class _LineCounts:
    """Line breaks of a text read in chunks: LF, CRLF, lone CR; NUL; a possible blank line."""

    def __init__(self) -> None:
        self.lf = self.crlf = self.cr = 0
        self.nul = False
        self.quotes = False
        self.tail = b""
        self.empty = True
        self.head: bytes | None = None  # the first line, with its newline, once seen
        self._start = b""

    def add(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.empty = False
        if self.head is None:
            self._start += chunk
            if b"\n" in self._start:
                self.head = self._start.split(b"\n", 1)[0] + b"\n"
                self._start = b""
        self.lf += chunk.count(b"\n")
        has_cr = b"\r" in chunk or b"\r" in self.tail
        if has_cr:  # rare: counted only when present (each test is a pass over the chunk)
            self.cr += chunk.count(b"\r")
            self.crlf += chunk.count(b"\r\n") + (self.tail[-1:] == b"\r" and chunk[:1] == b"\n")
        self.nul = self.nul or b"\x00" in chunk
        self.quotes = self.quotes or b'"' in chunk
        self.tail = (self.tail + chunk[-2:])[-2:]

    @property
    def newlines(self) -> str:
        lone_cr = self.cr - self.crlf
        if self.lf == 0 and lone_cr:
            return "cr"
        if self.crlf and self.crlf == self.lf:
            return "crlf"
        return "mixed" if self.crlf else "lf"

    @property
    def open_end(self) -> bool:
        return not self.empty and self.tail[-1:] not in (b"\n", b"\r")

    @property
    def lines(self) -> int:
        breaks = self.cr if self.newlines == "cr" else self.lf
        return breaks + (1 if self.open_end else 0)


def normalised(text: bytes, newlines: str) -> bytes:
    """The text with LF line breaks (CRLF and, in a CR-only file, CR)."""
    if newlines == "mixed":
        return text.replace(b"\r\n", b"\n")
    if newlines == "cr":
        return text.replace(b"\r", b"\n")
    return text


def with_blank_lines(f: SourceFile) -> SourceFile:
    """The file with its blank lines noted (a CSV file whose records do not add up: blank
    lines are not records). Looked for only then: searching every file costs a pass."""
    if f.table.format != "csv" or f.unreadable:
        return f
    return dataclasses.replace(f, blank_lines=_blank_lines(normalised(read_all(f), f.newlines)))


def _blank_lines(text: bytes) -> tuple[int, ...]:
    """Line numbers (1 = first) of empty lines, the header excluded."""
    lines = text.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return tuple(i for i, line in enumerate(lines, 1) if i > 1 and line in (b"", b"\r"))


def normalised_copy(f: SourceFile, folder: Path) -> SourceFile:
    """A copy of the (decompressed) file with LF line breaks, for readers that need them; the
    same lines, so line numbers hold."""
    digest = hashlib.sha256(f"{f.table.label}\0{f.rel}".encode()).hexdigest()[:16]
    copy = folder / f"{digest}.txt"
    copy.write_bytes(normalised(read_all(f), f.newlines))
    return dataclasses.replace(f, path=copy, compression=None, newlines="lf", origin=f.stored_at)


def _parquet_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except (OSError, ValueError, pa.ArrowException):
        return 0  # unreadable: the parse step fails the file with DuckDB's own message
