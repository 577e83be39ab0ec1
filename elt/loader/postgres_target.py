"""The PostgreSQL warehouse: ``COPY ... FROM STDIN`` writes each file's rows.

A plain CSV file (no quote character, one-byte delimiter, LF or CRLF lines, uncompressed) is
sent as it is, each line followed by its line number and the file's id: PostgreSQL's own CSV
parser reads it, the way a bare ``COPY`` would. A file it refuses (a malformed line, a blank
line, bytes that are not UTF-8) or whose rows do not add up is rolled back to its savepoint
and read by DuckDB instead, as every other file is: DuckDB parses it in memory, quarantines
the lines it cannot read, and streams the rest to ``COPY``.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import duckdb
import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv

from elt.errors import (
    FileLoadError,
    FileNeedsOwnScan,
    FileNotReady,
    LoaderError,
    TransientError,
)
from elt.history.tables import RUN_NODES, RUNS
from elt.loader import hash_key
from elt.loader.bookkeeping import BOOKKEEPING, FileStatus
from elt.loader.config import SourceTable
from elt.loader.files import SourceFile, check_unchanged
from elt.loader.parse import accounting_error, lit, q
from elt.loader.warehouse import (
    MANIFEST,
    MANIFEST_SELECT,
    META_COLUMNS,
    QUARANTINE,
    FileLoad,
    ManifestEntry,
    ManifestKey,
    RawLayout,
    Session,
    Warehouse,
    all_quarantine,
    check_inserted,
    disk_full,
    loaded_row,
    manifest_entries,
    raw_table_of,
    record_batches,
    utcnow,
)
from elt.warehouse.postgres import (
    CONNECTION_ERRORS,
    LOCK_KEY,
    connect,
    connection_lost,
    connection_params,
    describe,
    lost,
)

# a row store: a raw row names its file by number (the manifest's file_id), not by its path
# and batch, which would double what a narrow row costs to write
LAYOUT = RawLayout("text", "now()", file_ids=True)

COPY_OPTIONS = "(format csv, header false)"


def _copy(
    cur: psycopg2.extensions.cursor,
    target: str,
    columns: list[str],
    batch: pa.RecordBatch | pa.Table,
) -> int:
    buf = io.BytesIO()
    pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False))
    buf.seek(0)
    cur.copy_expert(
        f"copy {target} ({', '.join(q(c) for c in columns)}) from stdin {COPY_OPTIONS}", buf
    )
    return int(cur.rowcount)


class _Chunks(io.RawIOBase):
    """A readable stream over byte chunks (what ``copy_expert`` reads from). An error of the
    chunks' producer cancels the ``COPY`` (psycopg2 reports QueryCanceled) and is kept in
    ``error``."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = memoryview(b"")
        self.error: Exception | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._left):
            try:
                nxt = next(self._chunks, None)
            except Exception as exc:
                self.error = exc
                raise
            if nxt is None:
                return 0
            self._left = memoryview(nxt)
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n


def _csv(reader: pa.RecordBatchReader) -> Iterator[bytes]:
    for batch in reader:
        if batch.num_rows:
            buf = io.BytesIO()
            pacsv.write_csv(batch, buf, pacsv.WriteOptions(include_header=False))
            yield buf.getvalue()


class _NeedsParser(Exception):
    """A line of a file sent as it is that COPY would read otherwise than DuckDB (blank)."""


_BLOCK = 1 << 20


def plain_csv(f: SourceFile) -> bool:
    """Whether PostgreSQL's CSV parser reads the file's records exactly as DuckDB's would:
    no quote character anywhere (so no field holds a delimiter or a line break), a one-byte
    delimiter, LF or CRLF lines, uncompressed, no NUL byte."""
    return (
        not f.has_quotes
        and not f.has_nul
        and f.compression is None
        and f.origin is None
        and f.newlines in ("lf", "crlf")
        and len(f.table.delimiter.encode("utf-8")) == 1
    )


def lines_with_metadata(f: SourceFile, file_id: int) -> Iterator[bytes]:
    """The file's records for ``COPY``: each line as it is, then its line number and the
    file's id, LF-terminated; the header left out. Raises _NeedsParser at a blank line."""
    newline = b"\r\n" if f.newlines == "crlf" else b"\n"
    delim = f.table.delimiter.encode("utf-8").replace(b"%", b"%%")
    line = b"%b" + delim + b"%d" + delim + str(file_id).encode()
    number = 2  # line 1 is the header
    with f.path.open("rb") as fh:
        fh.readline()
        rest = b""
        while block := fh.read(_BLOCK):
            block = rest + block
            cut = block.rfind(newline)
            if cut < 0:
                rest = block
                continue
            lines = block[:cut].split(newline)
            rest = block[cut + len(newline) :]
            if b"" in lines:
                raise _NeedsParser(f"{f.rel}: a blank line")
            yield b"\n".join([line % (text, n) for n, text in enumerate(lines, number)]) + b"\n"
            number += len(lines)
        if rest:  # the last line, with no newline
            yield line % (rest, number) + b"\n"


def copy_rows(
    cur: psycopg2.extensions.cursor, target: str, columns: list[str], reader: pa.RecordBatchReader
) -> int:
    """One ``COPY ... FROM STDIN`` of a whole file's rows, streamed batch by batch. (Binary
    COPY, encoded by pgpq, was measured within the noise of this: the rows' volume, not
    their format, is what PostgreSQL spends its time on.)"""
    cur.copy_expert(
        f"copy {target} ({', '.join(q(c) for c in columns)}) from stdin {COPY_OPTIONS}",
        _Chunks(_csv(reader)),
        size=1 << 20,
    )
    return int(cur.rowcount)


def brin_index_name(t: SourceTable) -> str:
    """The name of a raw table's BRIN index on ``_loaded_at`` (in the table's schema)."""
    return f"{t.identifier[:50]}__loaded_at_brin"


def loaded_at_index(t: SourceTable) -> str:
    """The BRIN index on ``_loaded_at`` a raw table gets when it is created (see ``analyze``):
    empty then, and summarized by each load's ``analyze`` step, range by new range, so no
    load pays for reading the whole table to build it."""
    return (
        f"create index if not exists {q(brin_index_name(t))} "
        f"on {q(t.schema)}.{q(t.identifier)} using brin (_loaded_at) with (autosummarize = on)"
    )


def _columns(conn: psycopg2.extensions.connection, schema: str, table: str) -> list[str] | None:
    with conn.cursor() as cur:
        cur.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s order by ordinal_position",
            [schema, table],
        )
        rows = cur.fetchall()
    conn.commit()
    return [r[0] for r in rows if r[0] not in META_COLUMNS] if rows else None


def _refused(
    conn: psycopg2.extensions.connection, exc: psycopg2.Error, what: str, doing: str
) -> LoaderError | FileLoadError:
    """The error to raise for a statement PostgreSQL refused: a lost connection ends the run
    (transient); anything else is rolled back and fails the files concerned."""
    if connection_lost(exc):
        return lost(exc, doing)
    conn.rollback()
    return FileLoadError(f"PostgreSQL refused {what}: {str(exc).strip().splitlines()[0]}")


class PostgresSession(Session):
    def __init__(self, conn: psycopg2.extensions.connection, meta_schema: str) -> None:
        self.pg = conn
        self.meta = q(meta_schema)
        self.duck = duckdb.connect()
        self.duck.execute(
            "set enable_progress_bar = false; set TimeZone = 'UTC'; set preserve_insertion_order = true"
        )

    def columns(self, schema: str, table: str) -> list[str] | None:
        return _columns(self.pg, schema, table)

    def write_group(self, loads: list[FileLoad]) -> None:
        files = ", ".join(x.file.rel for x in loads)
        try:
            with self.pg.cursor() as cur:
                for load in loads:
                    self._write_rows(cur, load)
                now = utcnow()
                quarantine = all_quarantine(loads, now)
                if quarantine is not None:
                    _copy(
                        cur, f"{self.meta}.{QUARANTINE.name}", quarantine.column_names, quarantine
                    )
                self._upsert_manifest(cur, MANIFEST.rows([loaded_row(x, now) for x in loads]))
            self.pg.commit()
        except psycopg2.Error as exc:
            raise _refused(self.pg, exc, f"the rows of {files}", f"while loading {files}") from None
        except FileLoadError:
            self.pg.rollback()
            raise

    bulk_csv = True

    def write_csv_bulk(
        self, loads: list[FileLoad], max_quarantine_rate: float
    ) -> dict[str, FileLoadError]:
        """Plain CSV files sent as they are (``plain_csv``), in one transaction; each file
        PostgreSQL refuses, or whose rows do not add up, is rolled back to its savepoint and
        returned as FileNeedsOwnScan (DuckDB then reads it)."""
        failed: dict[str, FileLoadError] = {}
        files = ", ".join(x.file.rel for x in loads)
        try:
            with self.pg.cursor() as cur:
                for load in loads:
                    why = self._copy_plain(cur, load, max_quarantine_rate)
                    if why is not None:
                        failed[load.file.rel] = why
                written = [x for x in loads if x.file.rel not in failed]
                if written:
                    rows = MANIFEST.rows([loaded_row(x, utcnow()) for x in written])
                    self._upsert_manifest(cur, rows)
            self.pg.commit()
        except psycopg2.Error as exc:
            raise _refused(self.pg, exc, f"the rows of {files}", f"while loading {files}") from None
        return failed

    def _copy_plain(
        self, cur: psycopg2.extensions.cursor, load: FileLoad, max_quarantine_rate: float
    ) -> FileLoadError | None:
        f = load.file
        if not plain_csv(f):
            return FileNeedsOwnScan(f"{f.rel}: not a plain CSV file")
        target = f"{q(f.table.schema)}.{q(f.table.identifier)}"
        columns = ", ".join(q(c) for c in [*load.columns, *LAYOUT.meta_columns()])
        options = f"(format csv, header false, delimiter {lit(f.table.delimiter)})"
        chunks = _Chunks(lines_with_metadata(f, load.file_id))
        cur.execute("savepoint elt_file")
        try:
            cur.copy_expert(f"copy {target} ({columns}) from stdin {options}", chunks, size=_BLOCK)
            load.rows = int(cur.rowcount)
            why = accounting_error(f, load.rows, [], max_quarantine_rate)
            if why is None:
                check_unchanged(f)
        except FileNotReady as exc:
            cur.execute("rollback to savepoint elt_file")
            return exc
        except psycopg2.Error as exc:
            if chunks.error is None and connection_lost(exc):
                raise
            why = str(chunks.error or str(exc).strip().splitlines()[0])
        if why is not None:
            cur.execute("rollback to savepoint elt_file")
            return FileNeedsOwnScan(why)
        cur.execute("release savepoint elt_file")
        return None

    def _write_rows(self, cur: psycopg2.extensions.cursor, load: FileLoad) -> None:
        t = load.file.table
        target = f"{q(t.schema)}.{q(t.identifier)}"
        for ddl in LAYOUT.schema_changes(target, load.create, load.columns, load.add_columns):
            cur.execute(ddl)
        if load.create:
            cur.execute(loaded_at_index(t))
        if load.replace:
            cur.execute(
                f"delete from {target} where _file_id in (select file_id from "
                f"{self.meta}.{MANIFEST.name} where raw_table = %s and file_path = %s)",
                [raw_table_of(t), load.file.rel],
            )
            cur.execute(
                f"delete from {self.meta}.{QUARANTINE.name} where file_path = %s and source_table = %s",
                [load.file.rel, t.label],
            )
        columns = [*load.columns, *LAYOUT.meta_columns()]
        sql = f"select *, {', '.join(LAYOUT.meta_values(load))} from ({load.select_sql})"
        with record_batches(self.duck, sql) as batches:
            inserted = copy_rows(cur, target, columns, batches)
        check_inserted(load, inserted)

    def _upsert_manifest(self, cur: psycopg2.extensions.cursor, rows: pa.Table) -> None:
        cur.execute(
            f"delete from {self.meta}.{MANIFEST.name} as m using unnest(%s::text[], %s::text[]) "
            "as k(raw_table, file_path) where m.raw_table = k.raw_table and m.file_path = k.file_path",
            [rows["raw_table"].to_pylist(), rows["file_path"].to_pylist()],
        )
        _copy(cur, f"{self.meta}.{MANIFEST.name}", rows.column_names, rows)

    def record_rows(self, rows: list[tuple[object, ...]]) -> None:
        try:
            with self.pg.cursor() as cur:
                self._upsert_manifest(cur, MANIFEST.rows(rows))
            self.pg.commit()
        except CONNECTION_ERRORS as exc:
            raise lost(exc, "while recording a file in the manifest") from None
        except BaseException:
            self.pg.rollback()
            raise

    def close(self) -> None:
        self.duck.close()
        self.pg.close()  # never raises, even on a dead connection


class PostgresWarehouse(Warehouse):
    def __init__(self, settings: dict[str, Any], target_name: str, meta_schema: str) -> None:
        self.params = connection_params(settings, target_name, "elt-load")
        self.description = describe(self.params, target_name)
        self.upgrade_notices: list[str] = []
        self.meta_schema = meta_schema
        self.conn = self._connect()

    def _connect(self) -> psycopg2.extensions.connection:
        return connect(self.params, self.description)

    @contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        with self.conn.cursor() as cur:
            while True:
                cur.execute("select pg_try_advisory_lock(%s)", [LOCK_KEY])
                row = cur.fetchone()
                self.conn.commit()
                if row and row[0]:
                    break
                if time.monotonic() >= deadline:
                    raise TransientError(
                        f"another elt load is running on {self.description}; waited {timeout:.0f} s for its lock"
                    )
                time.sleep(0.25)
        try:
            yield
        finally:
            # a lost connection took its session lock with it; an error in an open transaction
            # is rolled back first, so the unlock runs and the error itself is what is reported
            with contextlib.suppress(*CONNECTION_ERRORS):
                self.conn.rollback()
                with self.conn.cursor() as cur:
                    cur.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])
                self.conn.commit()

    def prepare(self, schemas: set[str]) -> None:
        try:
            with self.conn.cursor() as cur:
                for schema in sorted(schemas | {self.meta_schema}):
                    cur.execute(f"create schema if not exists {q(schema)}")
                for book in BOOKKEEPING:
                    cur.execute(book.ddl(q(self.meta_schema)))
            self.conn.commit()
        except psycopg2.Error as exc:
            if connection_lost(exc):
                raise lost(exc, "while preparing the raw schemas") from None
            self.conn.rollback()
            raise LoaderError(
                f"{self.description}: PostgreSQL refused the raw schemas and the manifest: "
                f"{str(exc).strip().splitlines()[0]} (the loader's role needs them: run "
                "`elt setup-postgres` as the administrator)"
            ) from None
        with self.conn.cursor() as cur:
            for book in BOOKKEEPING:
                have = self.columns(self.meta_schema, book.name) or []
                for ddl in book.upgrades(q(self.meta_schema), have):
                    cur.execute(ddl)
        self.conn.commit()
        self._rekey_manifest()
        self._number_loaded_files()
        self._move_file_metadata_to_manifest()

    def _rekey_manifest(self) -> None:
        """A manifest of an older loader is keyed by file_path alone: its key becomes
        (raw_table, file_path)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "select c.conname, array_agg(a.attname::text order by k.n) "
                "from pg_constraint c cross join unnest(c.conkey) with ordinality as k(attnum, n) "
                "join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum "
                "where c.contype = 'p' and c.conrelid = %s::regclass group by c.conname",
                [f"{q(self.meta_schema)}.{MANIFEST.name}"],
            )
            found = cur.fetchall()
            if found and tuple(found[0][1]) != MANIFEST.primary_key:
                table = f"{q(self.meta_schema)}.{MANIFEST.name}"
                cur.execute(f"alter table {table} drop constraint {q(found[0][0])}")
                cur.execute(
                    f"alter table {table} add primary key ({', '.join(MANIFEST.primary_key)})"
                )
        self.conn.commit()

    def _number_loaded_files(self) -> None:
        """Loaded files of an older loader's manifest get their file ids, in load order."""
        table = f"{q(self.meta_schema)}.{MANIFEST.name}"
        with self.conn.cursor() as cur:
            cur.execute(
                f"update {table} as m set file_id = n.file_id from ("
                f"select raw_table, file_path, (select coalesce(max(file_id), 0) from {table}) "
                "+ row_number() over (order by finished_at, raw_table, file_path) as file_id "
                f"from {table} where file_id is null and status = %s) as n "
                "where m.raw_table = n.raw_table and m.file_path = n.file_path",
                [FileStatus.LOADED.value],
            )
        self.conn.commit()

    def _move_file_metadata_to_manifest(self) -> None:
        """Raw tables of an older loader carry each row's path and batch: they get the file's
        id instead (from the manifest), one table per transaction. Views on the two dropped
        columns (dbt's staging views) are dropped with them: the next ``dbt build`` makes
        them again, reading the path and batch from the manifest."""
        manifest = f"{q(self.meta_schema)}.{MANIFEST.name}"
        with self.conn.cursor() as cur:
            cur.execute(
                "select table_schema, table_name from information_schema.columns "
                "where column_name = '_source_file' and table_schema || '.' || table_name in "
                f"(select distinct raw_table from {manifest}) order by 1, 2"
            )
            tables = cur.fetchall()
        self.conn.commit()
        for schema, name in tables:
            target = f"{q(schema)}.{q(name)}"
            self.conn.notices.clear()
            with self.conn.cursor() as cur:
                cur.execute(f"alter table {target} add column if not exists _file_id integer")
                cur.execute(
                    f"update {target} as r set _file_id = m.file_id from {manifest} as m "
                    "where m.raw_table = %s and m.file_path = r._source_file and m.status = %s",
                    [f"{schema}.{name}", FileStatus.LOADED.value],
                )
                cur.execute(f"select count(*) from {target} where _file_id is null")
                orphans = cur.fetchone()[0]  # type: ignore[index]
                if orphans:
                    self.conn.rollback()
                    raise LoaderError(
                        f"{schema}.{name}: {orphans} raw rows belong to no file the manifest "
                        "lists as loaded; they cannot be given a file id (nothing was changed: "
                        "delete them or restore the manifest, then rerun)"
                    )
                cur.execute(f"alter table {target} alter column _file_id set not null")
                cur.execute(
                    f"alter table {target} drop column _batch_id cascade, "
                    "drop column _source_file cascade"
                )
            self.conn.commit()
            dropped = [
                n.strip().removeprefix("NOTICE:").strip() for n in self.conn.notices if "drop" in n
            ]
            self.upgrade_notices.append(
                f"{schema}.{name}: its rows now name their file by the manifest's file_id "
                "(_file_id) instead of _source_file and _batch_id"
                + (
                    f"; {'; '.join(dropped)} (the next dbt build makes them again)"
                    if dropped
                    else ""
                )
            )

    def store_hash_key(self, production: bool) -> str:
        with self.conn.cursor() as cur:

            def run(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
                cur.execute(statement, params)
                return cur.fetchall() if cur.description else []

            notice = hash_key.ensure(run, q(self.meta_schema), "bytea", "%s", production)
        self.conn.commit()
        return notice

    def manifest(self) -> dict[ManifestKey, ManifestEntry]:
        with self.conn.cursor() as cur:
            cur.execute(MANIFEST_SELECT.format(table=f"{q(self.meta_schema)}.{MANIFEST.name}"))
            rows = cur.fetchall()
        self.conn.commit()
        return manifest_entries(rows)

    def columns(self, schema: str, table: str) -> list[str] | None:
        return _columns(self.conn, schema, table)

    def touch(self, files: list[SourceFile]) -> None:
        if not files:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                f"update {q(self.meta_schema)}.{MANIFEST.name} set file_modified_at = %s "
                "where raw_table = %s and file_path = %s",
                [(f.modified_at, raw_table_of(f.table), f.rel) for f in files],
            )
        self.conn.commit()

    def record_run(self, run: pa.Table, nodes: pa.Table) -> bool:
        meta = q(self.meta_schema)
        try:
            with self.conn.cursor() as cur:
                # one recorder at a time per invocation: the second waits, then sees the first's rows
                cur.execute(
                    "select pg_advisory_xact_lock(hashtext(%s))", [run["invocation_id"][0].as_py()]
                )
                cur.execute(
                    f"select 1 from {meta}.{RUNS.name} where invocation_id = %s",
                    [run["invocation_id"][0].as_py()],
                )
                seen = cur.fetchone() is not None
                if not seen:
                    for name, rows in ((RUNS.name, run), (RUN_NODES.name, nodes)):
                        if rows.num_rows:
                            _copy(cur, f"{meta}.{name}", rows.column_names, rows)
            self.conn.commit()
        except CONNECTION_ERRORS as exc:
            raise lost(exc, "while recording a run") from None
        except BaseException:
            self.conn.rollback()
            raise
        return not seen

    def transient(self, exc: BaseException) -> TransientError | None:
        if connection_lost(exc):
            return lost(exc, "during the load")
        return disk_full(exc, self.description)

    def ensure_table(self, table: SourceTable, columns: list[str]) -> None:
        have = self.columns(table.schema, table.identifier)
        target = f"{q(table.schema)}.{q(table.identifier)}"
        try:
            with self.conn.cursor() as cur:
                for ddl in LAYOUT.schema_changes(
                    target, have is None, columns, [c for c in columns if c not in (have or [])]
                ):
                    cur.execute(ddl)
                if have is None:
                    cur.execute(loaded_at_index(table))
            self.conn.commit()
        except psycopg2.Error as exc:
            raise _refused(
                self.conn, exc, f"the columns of {target}", f"while adding columns to {target}"
            ) from None

    def session(self) -> Session:
        return PostgresSession(self._connect(), self.meta_schema)

    def analyze(self, tables: list[SourceTable]) -> None:
        """Fresh statistics (row counts, and the spread of ``_loaded_at``: staging casts the
        text columns, so their statistics would cost more than they tell), so the next dbt run
        plans on real row counts, not guesses; and (for a table created before the loader
        made it with the table) a BRIN index on ``_loaded_at``, which dbt's incremental models filter on (rows loaded
        since their watermark), so a nightly run reads the new rows, not the whole history.
        Raw tables only grow, in load order, so a BRIN index (one summary per 128 pages) finds
        the new rows as well as a B-tree would, costs a fraction to build and nothing to keep
        up while ``COPY`` appends. (It replaces the B-tree ``<table>__loaded_at`` of before.)
        The page ranges the load filled are summarized here (``brin_summarize_new_values``:
        those ranges only), not left to autovacuum: with autovacuum off, or behind (it drops
        summarization requests when its queue is full: "request for BRIN range summarization
        ... was not recorded"), an unsummarized range matches every filter, and each night
        read most of raw again (63% of the order lines at 180 days, scale 1)."""
        with self.conn.cursor() as cur:
            for t in tables:
                schema = q(t.schema)
                cur.execute(f"drop index if exists {schema}.{q(t.identifier[:50] + '__loaded_at')}")
                cur.execute(loaded_at_index(t))  # a table of an older loader: built once
                cur.execute(
                    "select brin_summarize_new_values(%s::regclass)",
                    [f"{schema}.{q(brin_index_name(t))}"],
                )
                cur.execute(f"analyze {schema}.{q(t.identifier)} (_loaded_at)")
            cur.execute(f"analyze {q(self.meta_schema)}.{MANIFEST.name}")
            cur.execute(f"analyze {q(self.meta_schema)}.{QUARANTINE.name}")
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
