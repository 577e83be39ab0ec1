"""What the loader needs from a database; one implementation per adapter.

A ``Session`` is one worker's connection. ``load_file`` writes a file's raw rows, its
quarantine rows and its manifest row in one transaction: all of them or none.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager

import duckdb
import pyarrow as pa

from elt.loader.config import SourceTable
from elt.loader.errors import FileLoadError
from elt.loader.files import SourceFile
from elt.loader.parse import Reject, q

MANIFEST = "_elt_manifest"
QUARANTINE = "_elt_quarantine"
META_COLUMNS = ("_batch_id", "_source_file", "_row_number", "_loaded_at")


@dataclasses.dataclass(frozen=True)
class ManifestEntry:
    rel: str
    sha256: str
    status: str


@dataclasses.dataclass
class FileResult:
    file: SourceFile
    status: str  # loaded | reloaded | failed | refused | skipped
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0
    message: str = ""


def raw_table_ddl(table_sql: str, columns: list[str], text: str, now: str) -> str:
    """A raw table: the file's columns as text, then the load metadata."""
    cols = "".join(f"{q(c)} {text}, " for c in columns)
    return (
        f"create table {table_sql} ({cols}_batch_id {text} not null, _source_file {text} not null, "
        f"_row_number bigint not null, _loaded_at timestamptz not null default {now})"
    )


def schema_changes(
    table_sql: str, create: bool, columns: list[str], add: list[str], text: str, now: str
) -> list[str]:
    if create:
        return [raw_table_ddl(table_sql, columns, text, now)]
    return [f"alter table {table_sql} add column {q(c)} {text}" for c in add]


def manifest_ddl(schema: str, text: str, ts: str) -> list[str]:
    return [
        f"""create table if not exists {q(schema)}.{MANIFEST} (
            file_path {text} primary key,
            source_table {text} not null,
            raw_table {text} not null,
            size_bytes bigint not null,
            content_hash {text} not null,
            rows_in_file bigint not null,
            rows_loaded bigint not null,
            rows_quarantined bigint not null,
            status {text} not null,
            message {text},
            started_at {ts} not null,
            finished_at {ts} not null,
            batch_id {text} not null
        )""",
        f"""create table if not exists {q(schema)}.{QUARANTINE} (
            file_path {text} not null,
            source_table {text} not null,
            line_number bigint not null,
            raw_line {text},
            reason {text} not null,
            batch_id {text} not null,
            quarantined_at {ts} not null
        )""",
    ]


def quarantine_table(
    f: SourceFile, rejects: list[Reject], batch_id: str, at: dt.datetime
) -> pa.Table:
    n = len(rejects)
    return pa.table(
        {
            "file_path": pa.array([f.rel] * n, pa.string()),
            "source_table": pa.array([f.table.label] * n, pa.string()),
            "line_number": pa.array([r.line for r in rejects], pa.int64()),
            "raw_line": pa.array([r.raw for r in rejects], pa.string()),
            "reason": pa.array([r.reason for r in rejects], pa.string()),
            "batch_id": pa.array([batch_id] * n, pa.string()),
            "quarantined_at": pa.array([at] * n, pa.timestamp("us", tz="UTC")),
        }
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
    message: str


class Session(abc.ABC):
    """One worker's connection; ``duck`` is the DuckDB connection that parses files."""

    duck: duckdb.DuckDBPyConnection

    @abc.abstractmethod
    def columns(self, schema: str, table: str) -> list[str] | None:
        """Data columns of a raw table, or None when it does not exist."""

    @abc.abstractmethod
    def write_group(self, loads: list[FileLoad]) -> None:
        """One transaction: every file's raw rows, quarantine rows and manifest row, or nothing.

        Raises FileLoadError (after rolling back) when the database refuses any of it.
        """

    @abc.abstractmethod
    def record_failure(
        self, f: SourceFile, message: str, batch_id: str, started: dt.datetime
    ) -> None: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class Warehouse(abc.ABC):
    description: str

    @abc.abstractmethod
    def lock(self, timeout: float) -> AbstractContextManager[None]:
        """Hold the loader's lock on this target for the whole run."""

    @abc.abstractmethod
    def prepare(self, schemas: set[str]) -> None:
        """Create the raw schemas and the manifest and quarantine tables."""

    @abc.abstractmethod
    def manifest(self) -> dict[str, ManifestEntry]: ...

    @abc.abstractmethod
    def columns(self, schema: str, table: str) -> list[str] | None:
        """Data columns of a raw table, or None when it does not exist."""

    @abc.abstractmethod
    def ensure_table(self, table: SourceTable, columns: list[str]) -> None:
        """Create the raw table, or add the columns it lacks, in a transaction of its own."""

    @abc.abstractmethod
    def session(self) -> Session: ...

    def analyze(self, tables: list[SourceTable]) -> None:  # noqa: B027 - a no-op unless the database needs it
        """Refresh planner statistics of tables that received rows (where the database needs it)."""

    @abc.abstractmethod
    def close(self) -> None: ...


def manifest_rows(rows: list[tuple[object, ...]]) -> pa.Table:
    columns: list[Sequence[object]] = (
        list(zip(*rows, strict=True)) if rows else [() for _ in MANIFEST_COLUMNS]
    )
    types = (
        [pa.string()] * 3
        + [pa.int64()]
        + [pa.string()]
        + [pa.int64()] * 3
        + [pa.string()] * 2
        + [pa.timestamp("us", tz="UTC")] * 2
        + [pa.string()]
    )
    return pa.table(
        {
            name: pa.array(list(col), typ)
            for name, col, typ in zip(MANIFEST_COLUMNS, columns, types, strict=True)
        }
    )


def loaded_row(load: FileLoad, finished: dt.datetime) -> tuple[object, ...]:
    f = load.file
    return (
        f.rel,
        f.table.label,
        f"{f.table.schema}.{f.table.identifier}",
        f.size,
        f.sha256,
        f.records,
        load.rows,
        len(load.rejects),
        "loaded",
        load.message or None,
        load.started_at,
        finished,
        load.batch_id,
    )


def failed_row(
    f: SourceFile, message: str, batch_id: str, started: dt.datetime, finished: dt.datetime
) -> tuple[object, ...]:
    return (
        f.rel,
        f.table.label,
        f"{f.table.schema}.{f.table.identifier}",
        f.size,
        f.sha256,
        f.records,
        0,
        0,
        "failed",
        message,
        started,
        finished,
        batch_id,
    )


def all_quarantine(loads: list[FileLoad], at: dt.datetime) -> pa.Table | None:
    tables = [quarantine_table(x.file, x.rejects, x.batch_id, at) for x in loads if x.rejects]
    return pa.concat_tables(tables) if tables else None


MANIFEST_COLUMNS = (
    "file_path",
    "source_table",
    "raw_table",
    "size_bytes",
    "content_hash",
    "rows_in_file",
    "rows_loaded",
    "rows_quarantined",
    "status",
    "message",
    "started_at",
    "finished_at",
    "batch_id",
)


def check_inserted(load: FileLoad, inserted: int) -> None:
    """The rows written must be the rows parsed: a file that changed while loading is refused."""
    if inserted != load.rows:
        raise FileLoadError(
            f"{load.file.rel}: parsed {load.rows} rows but wrote {inserted}; did the file change during the load?"
        )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def record_batches(
    duck: duckdb.DuckDBPyConnection, sql: str, rows: int = 200_000
) -> Iterator[pa.RecordBatch]:
    reader = duck.sql(sql).to_arrow_reader(rows)
    yield from reader
