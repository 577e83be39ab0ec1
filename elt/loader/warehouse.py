"""What the loader needs from a database; one implementation per adapter.

A ``Session`` is one worker's connection. ``load_file`` writes a file's raw rows, its
quarantine rows and its manifest row in one transaction: all of them or none.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import duckdb
import pyarrow as pa

from elt.errors import FileLoadError, TransientError
from elt.loader.bookkeeping import (
    MANIFEST,
    QUARANTINE,
    FileStatus,
    Note,
    NoteKind,
    Outcome,
    render_notes,
)
from elt.loader.config import SourceTable
from elt.loader.files import SourceFile, check_unchanged
from elt.loader.names import META_COLUMNS
from elt.loader.parse import Reject, lit, q

__all__ = ["MANIFEST", "META_COLUMNS", "QUARANTINE"]


@dataclasses.dataclass(frozen=True)
class ManifestEntry:
    rel: str
    sha256: str
    status: str
    size: int
    modified_at: dt.datetime | None
    rows: int  # rows_in_file
    finished_at: dt.datetime | None = None
    source_table: str = ""
    raw_table: str = ""
    message: str | None = None
    file_id: int | None = None
    first_loaded_at: dt.datetime | None = None

    @property
    def key(self) -> ManifestKey:
        return (self.raw_table, self.rel)


# a file's identity in the manifest: (raw table, path relative to the data directory); one
# file may feed several raw tables, and each keeps its own row
ManifestKey = tuple[str, str]
MANIFEST_SELECT = (
    "select file_path, content_hash, status, size_bytes, file_modified_at, rows_in_file, "
    "finished_at, source_table, raw_table, message, file_id, first_loaded_at from {table}"
)


def _utc(value: object) -> object:
    """A time as the manifest means it: in UTC (a Spark session's timestamps come back naive,
    in its time zone, which the profile sets to UTC)."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


def manifest_entries(rows: list[tuple[object, ...]]) -> dict[ManifestKey, ManifestEntry]:
    entries = [ManifestEntry(*(_utc(v) for v in r)) for r in rows]  # type: ignore[arg-type]
    return {e.key: e for e in entries}


def raw_table_of(table: SourceTable) -> str:
    return f"{table.schema}.{table.identifier}"


@dataclasses.dataclass
class FileResult:
    file: SourceFile
    status: Outcome
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    message: str = ""
    notes: tuple[Note, ...] = ()

    @property
    def drift(self) -> list[Note]:
        return [n for n in self.notes if n.is_drift]

    @property
    def notices(self) -> list[Note]:
        """What the operator should hear of: a rename recorded, a re-delivery loaded."""
        return [n for n in self.notes if n.kind in (NoteKind.RENAMED_FILE, NoteKind.REDELIVERED)]


@dataclasses.dataclass(frozen=True)
class RawLayout:
    """How a database's raw tables carry the load metadata of their rows.

    Every raw row has its line (``_row_number``) and its load time (``_loaded_at``: what
    incremental models filter on). Its file and batch are either written on the row
    (``_source_file``, ``_batch_id``: a column store keeps a value repeated down a file for
    next to nothing) or named by the file's number in the manifest (``_file_id``: in a row
    store the two texts would double what a row of a narrow table costs to write; the
    models get them back by a join, macros/utils/raw_rows.sql)."""

    text: str  # the text type
    now: str  # the current time, as a column default
    file_ids: bool = False

    def meta_columns(self) -> list[str]:
        """The metadata columns a load writes after the data columns."""
        return (
            ["_row_number", "_file_id"]
            if self.file_ids
            else ["_row_number", "_batch_id", "_source_file"]
        )

    def meta_values(self, load: FileLoad) -> list[str]:
        """SQL literals of the metadata after ``_row_number``, for one file's rows."""
        if self.file_ids:
            return [str(load.file_id)]
        return [lit(load.batch_id), lit(load.file.rel)]

    def ddl(self, table_sql: str, columns: list[str]) -> str:
        """A raw table: the file's columns as text, then the load metadata."""
        cols = "".join(f"{q(c)} {self.text}, " for c in columns)
        where = (
            "_file_id integer not null"
            if self.file_ids
            else f"_batch_id {self.text} not null, _source_file {self.text} not null"
        )
        return (
            f"create table {table_sql} ({cols}{where}, _row_number bigint not null, "
            f"_loaded_at timestamptz not null default {self.now})"
        )

    def schema_changes(
        self, table_sql: str, create: bool, columns: list[str], add: list[str]
    ) -> list[str]:
        if create:
            return [self.ddl(table_sql, columns)]
        return [f"alter table {table_sql} add column {q(c)} {self.text}" for c in add]


def quarantine_table(
    f: SourceFile, rejects: list[Reject], batch_id: str, at: dt.datetime
) -> pa.Table:
    return QUARANTINE.rows(
        [(f.rel, f.table.label, r.line, r.raw, r.reason, batch_id, at) for r in rejects]
    )


@dataclasses.dataclass
class FileLoad:
    """Everything one file's transaction writes."""

    file: SourceFile
    columns: list[str]  # data columns of the file
    add_columns: list[str]  # to add to the raw table first (drift, or a new table)
    create: bool  # the raw table does not exist yet
    select_sql: str  # DuckDB query of the rows: data columns and _row_number
    rows: int
    rejects: list[Reject]
    replace: bool  # reload: delete the file's earlier rows first
    batch_id: str
    started_at: dt.datetime
    notes: list[Note]
    renames: dict[str, str]  # source column -> raw column, where they differ
    file_id: int  # the number of this load of the file (the manifest's file_id)
    # a reload: when the file's rows were first loaded (None: this load is the first)
    first_loaded_at: dt.datetime | None = None

    @property
    def message(self) -> str:
        return render_notes(self.notes)


class Session(abc.ABC):
    """One worker's connection; ``duck`` is the DuckDB connection that parses files."""

    duck: duckdb.DuckDBPyConnection
    bulk_csv = False  # write_csv_bulk is implemented

    @abc.abstractmethod
    def columns(self, schema: str, table: str) -> list[str] | None:
        """Data columns of a raw table, or None when it does not exist."""

    def write_csv_bulk(
        self, loads: list[FileLoad], max_quarantine_rate: float
    ) -> dict[str, FileLoadError]:
        """New CSV files sharing a header: read, checked and written in one transaction, filling
        each load's rows and rejects. Returns {rel: error} for the files that failed their checks
        (nothing of theirs is written). Raises FileLoadError when the database refuses the
        group: the caller then loads the files one by one."""
        raise NotImplementedError

    @abc.abstractmethod
    def write_group(self, loads: list[FileLoad]) -> None:
        """One transaction: every file's raw rows, quarantine rows and manifest row, or nothing.

        Raises FileLoadError (after rolling back) when the database refuses any of it.
        """

    @abc.abstractmethod
    def record_rows(self, rows: list[tuple[object, ...]]) -> None:
        """Manifest rows of files with no rows of their own (failed, renamed), committed."""

    def record_failure(
        self, f: SourceFile, message: str, batch_id: str, started: dt.datetime
    ) -> None:
        self.record_rows([failed_row(f, message, batch_id, started, utcnow())])

    @abc.abstractmethod
    def close(self) -> None: ...


# what DuckDB and PostgreSQL say when the disk is full (PostgreSQL: SQLSTATE 53100)
_DISK_FULL = ("no space left on device", "could not extend file", "disk full")


def disk_full(exc: BaseException, description: str) -> TransientError | None:
    """A clear error for a full disk, or None when ``exc`` is something else."""
    text = " ".join(str(exc).split())
    if not any(s in text.lower() for s in _DISK_FULL):
        return None
    return TransientError(
        f"{description}: the disk is full ({text[:300]}); every file committed before it stays "
        "loaded and none is half-written: free space (elt archive, fewer kept versions with "
        "ELT_PUBLISH_KEEP, old backups) and rerun"
    )


class Warehouse(abc.ABC):
    description: str
    one_table_per_path = False  # a file's path may feed only one raw table (Spark's file ids)
    # what ``prepare`` changed in tables an older loader made, for the run's notices
    upgrade_notices: list[str]

    def own_files(self) -> frozenset[Path]:
        """The warehouse's own files (resolved), never loaded even when a pattern reaches them."""
        return frozenset()

    @abc.abstractmethod
    def lock(self, timeout: float) -> AbstractContextManager[None]:
        """Hold the loader's lock on this target for the whole run."""

    @abc.abstractmethod
    def prepare(self, schemas: set[str]) -> None:
        """Create the raw schemas and the manifest and quarantine tables."""

    @abc.abstractmethod
    def store_hash_key(self, production: bool) -> str:
        """The email hash key's pads into the bookkeeping schema (elt/loader/hash_key.py);
        a notice when the key changed."""

    @abc.abstractmethod
    def manifest(self) -> dict[ManifestKey, ManifestEntry]: ...

    @abc.abstractmethod
    def columns(self, schema: str, table: str) -> list[str] | None:
        """Data columns of a raw table, or None when it does not exist."""

    @abc.abstractmethod
    def ensure_table(self, table: SourceTable, columns: list[str]) -> None:
        """Create the raw table, or add the columns it lacks, in a transaction of its own."""

    @abc.abstractmethod
    def session(self) -> Session: ...

    @abc.abstractmethod
    def touch(self, files: list[SourceFile]) -> None:
        """Record the modification time of loaded files found unchanged by their hash."""

    @abc.abstractmethod
    def record_run(self, run: pa.Table, nodes: pa.Table) -> bool:
        """Append a run to the run history (``RUNS``, ``RUN_NODES``) in one transaction;
        False, writing nothing, when its invocation is already there."""

    def transient(self, exc: BaseException) -> TransientError | None:
        """The error to end the run with when ``exc`` means the database went away or its
        disk is full (a rerun succeeds once that is mended)."""
        return disk_full(exc, self.description)

    def analyze(self, tables: list[SourceTable]) -> None:  # noqa: B027 - a no-op unless the database needs it
        """Refresh planner statistics of tables that received rows (where the database needs it)."""

    @abc.abstractmethod
    def close(self) -> None: ...


def loaded_row(load: FileLoad, finished: dt.datetime) -> tuple[object, ...]:
    f = load.file
    return (
        f.rel,
        f.table.label,
        raw_table_of(f.table),
        f.size,
        f.sha256,
        f.records,
        load.rows,
        len(load.rejects),
        FileStatus.LOADED.value,
        load.message or None,
        load.started_at,
        finished,
        load.batch_id,
        f.modified_at,
        json.dumps(load.renames, ensure_ascii=False) if load.renames else None,
        load.file_id,
        load.first_loaded_at or finished,
    )


def failed_row(
    f: SourceFile, message: str, batch_id: str, started: dt.datetime, finished: dt.datetime
) -> tuple[object, ...]:
    return _row_without_rows(f, FileStatus.FAILED, message, batch_id, started, finished)


def renamed_row(f: SourceFile, message: str, batch_id: str, at: dt.datetime) -> tuple[object, ...]:
    """A new path holding the content of a loaded file whose path is gone: no rows of its own."""
    return _row_without_rows(f, FileStatus.RENAMED, message, batch_id, at, at)


def _row_without_rows(
    f: SourceFile,
    status: FileStatus,
    message: str,
    batch_id: str,
    started: dt.datetime,
    finished: dt.datetime,
) -> tuple[object, ...]:
    return (
        f.rel,
        f.table.label,
        raw_table_of(f.table),
        f.size,
        f.sha256,
        f.records,
        0,
        0,
        status.value,
        message,
        started,
        finished,
        batch_id,
        f.modified_at,
        None,
        None,
        None,
    )


def all_quarantine(loads: list[FileLoad], at: dt.datetime) -> pa.Table | None:
    tables = [quarantine_table(x.file, x.rejects, x.batch_id, at) for x in loads if x.rejects]
    return pa.concat_tables(tables) if tables else None


def check_inserted(load: FileLoad, inserted: int) -> None:
    """The rows written must be the rows parsed, from the file as it was fingerprinted: a file
    that changed while loading is left for the next run (its transaction rolls back)."""
    check_unchanged(load.file)
    if inserted != load.rows:
        raise FileLoadError(
            f"{load.file.rel}: parsed {load.rows} rows but wrote {inserted}; did the file change during the load?"
        )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def record_batches(
    duck: duckdb.DuckDBPyConnection, sql: str, rows: int = 200_000
) -> Iterator[pa.RecordBatchReader]:
    """The query's rows in batches; the DuckDB result is closed even when the caller stops
    early (an open result would refuse the connection's next query: the file-by-file retry)."""
    reader = duck.sql(sql).to_arrow_reader(rows)
    try:
        yield reader
    finally:
        reader.close()
