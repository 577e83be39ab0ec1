"""The Spark warehouse: raw tables and the bookkeeping as Parquet files, catalogued in Spark.

Spark on plain Parquet has no transactions, so a file is the unit of atomicity. For each
source file the loader writes, through DuckDB's Parquet writer, one raw part file, one
quarantine file (when it has rejected lines) and, last, one manifest file: the manifest
file is the commit. Each is written under a temporary name and renamed into place, and
each name carries the file's id (a hash of its path) and the load's batch id:

    <raw root>/<schema>/<table>/part-<file id>-<batch>.parquet
    <raw root>/<meta schema>/_elt_quarantine/<file id>-<batch>.parquet
    <raw root>/<meta schema>/_elt_manifest/<file id>-<batch>.parquet

A load that dies between these steps leaves files no manifest row vouches for; the next
load removes them before it starts (``_sweep``), as a rollback would. A reload replaces a
file's rows by writing the new batch's files and then removing the old batch's.

Once a folder has enough of these single files, the load merges them into a compacted
file (spark_files): the raw tables, the manifest, the quarantine and the run history alike.
A file's manifest row is then a row of a compacted file, found by its columns (file_path,
batch_id) rather than by a name. The newest row of a file is its commit; a reload purges
the older rows (of the manifest, the raw table and the quarantine) from compacted files.

Spark reads each table's folder as a Parquet table (``create table ... using parquet
location``); the catalog is rebuilt from the files when it is lost (``prepare``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from elt.errors import FileLoadError, TransientError
from elt.history.tables import RUN_NODES, RUNS
from elt.loader import hash_key
from elt.loader import spark_files as compaction
from elt.loader.bookkeeping import BOOKKEEPING, MANIFEST, QUARANTINE
from elt.loader.config import SourceTable
from elt.loader.files import SourceFile
from elt.loader.parse import lit
from elt.loader.spark_files import COMPACTED, Layout, file_id, safe_name
from elt.loader.spark_files import PART_NAME as _NAME
from elt.loader.warehouse import (
    MANIFEST_SELECT,
    META_COLUMNS,
    FileLoad,
    ManifestEntry,
    ManifestKey,
    Session,
    Warehouse,
    check_inserted,
    loaded_row,
    manifest_entries,
    quarantine_table,
    utcnow,
)
from elt.warehouse.spark_catalog import Catalog, bq, compact_files, open_catalog, raw_root
from elt.warehouse.tables import BookTable

# the bookkeeping's column kinds in Spark SQL
SPARK_TYPES = {
    "text": "string",
    "varchar": "string",
    "bigint": "bigint",
    "double precision": "double",
    "timestamptz": "timestamp",
    "timestamp with time zone": "timestamp",
    "blob": "binary",
}
RAW_META_DDL = (
    "`_batch_id` string, `_source_file` string, `_row_number` bigint, `_loaded_at` timestamp"
)
# the bookkeeping's rows name their source file and batch (or their run) thus (spark_files)
LAYOUTS = {
    MANIFEST.name: Layout("file_path", "batch_id", ("finished_at", "file_path")),
    QUARANTINE.name: Layout(
        "file_path", "batch_id", ("quarantined_at", "file_path", "line_number")
    ),
    RUNS.name: Layout("invocation_id", "invocation_id", ("started_at", "invocation_id")),
    RUN_NODES.name: Layout("invocation_id", "invocation_id", ("invocation_id", "unique_id")),
}


@dataclasses.dataclass(frozen=True)
class Committed:
    """A source file's newest manifest row: its batch, its status, the file that holds it
    (its own manifest file, or a compacted one) and its place among the rows read."""

    batch: str
    status: str
    path: Path
    index: int


def write_arrow(table: pa.Table, final: Path) -> None:
    tmp = final.with_name("." + final.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, final)


def _configure(con: duckdb.DuckDBPyConnection, scratch: Path) -> None:
    con.execute("set enable_progress_bar = false")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = true")
    con.execute(f"set temp_directory = {lit(str(scratch))}")


class SparkSession_(Session):
    def __init__(self, warehouse: SparkWarehouse) -> None:
        self.wh = warehouse
        self.duck = duckdb.connect()
        _configure(self.duck, warehouse.scratch)

    def columns(self, schema: str, table: str) -> list[str] | None:
        return self.wh.columns(schema, table)

    def write_group(self, loads: list[FileLoad]) -> None:
        # each file commits alone (its manifest file); the group's files are independent
        for load in loads:
            self._write_one(load)

    def _write_one(self, load: FileLoad) -> None:
        f, t = load.file, load.file.table
        if load.create or load.add_columns:
            known = self.wh.columns(t.schema, t.identifier) or []
            self.wh.ensure_table(t, known + [c for c in load.columns if c not in known])
        folder = self.wh.table_dir(t.schema, t.identifier)
        fid, batch = file_id(f.rel), safe_name(load.batch_id)
        now = utcnow()
        part = folder / f"part-{fid}-{batch}.parquet"
        tmp = folder / f".part-{fid}-{batch}.parquet.tmp"
        try:
            inserted = self.duck.execute(
                f"copy (select *, {lit(load.batch_id)} as _batch_id, {lit(f.rel)} as _source_file, "
                f"cast({lit(now.isoformat())} as timestamptz) as _loaded_at from ({load.select_sql})) "
                f"to {lit(str(tmp))} (format parquet, compression zstd)"
            ).fetchall()[0][0]
            check_inserted(load, int(inserted))
        except duckdb.Error as exc:
            tmp.unlink(missing_ok=True)
            raise FileLoadError(
                f"{f.rel}: cannot write its Parquet rows: {str(exc).splitlines()[0]}"
            ) from None
        except FileLoadError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, part)
        if load.rejects:
            write_arrow(
                quarantine_table(f, load.rejects, load.batch_id, now),
                self.wh.book_dir(QUARANTINE) / f"{fid}-{batch}.parquet",
            )
        self.wh.commit_manifest(fid, batch, MANIFEST.rows([loaded_row(load, utcnow())]))

    def record_rows(self, rows: list[tuple[object, ...]]) -> None:
        for row in rows:
            table = MANIFEST.rows([row])
            rel, batch = str(row[0]), str(row[MANIFEST.column_names.index("batch_id")])
            self.wh.commit_manifest(file_id(rel), safe_name(batch), table)

    def close(self) -> None:
        self.duck.close()


class SparkWarehouse(Warehouse):
    def __init__(self, settings: dict[str, Any], target_name: str, meta_schema: str) -> None:
        self.settings = settings
        self.meta_schema = meta_schema
        self.upgrade_notices: list[str] = []
        self.root = raw_root()
        self.scratch = self.root / ".duckdb_tmp"
        self.description = f"target {target_name!r} (spark, raw files in {self.root})"
        self.root.mkdir(parents=True, exist_ok=True)
        self.scratch.mkdir(exist_ok=True)
        self.duck = duckdb.connect()
        _configure(self.duck, self.scratch)
        self._catalog: Catalog | None = None
        self._locked = False
        # the loader's threads commit files concurrently: one rewrite of a folder at a time,
        # each thread with a DuckDB connection of its own
        self._folder_locks: dict[Path, threading.Lock] = {}
        self._folder_locks_guard = threading.Lock()
        self._thread = threading.local()
        self._connections: list[duckdb.DuckDBPyConnection] = []
        self._columns: dict[tuple[str, str], list[str] | None] = {}

    # -- places ---------------------------------------------------------------------------
    def table_dir(self, schema: str, table: str) -> Path:
        folder = self.root / schema / table
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def book_dir(self, book: BookTable | str) -> Path:
        return self.table_dir(self.meta_schema, book if isinstance(book, str) else book.name)

    @property
    def catalog(self) -> Catalog:
        if self._catalog is None:
            self._catalog = open_catalog(self.settings)
        return self._catalog

    # -- the catalog ----------------------------------------------------------------------
    def _register(self, schema: str, table: str, columns_ddl: str) -> None:
        folder = self.table_dir(schema, table)
        self.catalog.sql(f"create database if not exists {bq(schema)}")
        self.catalog.sql(
            f"create table if not exists {bq(schema)}.{bq(table)} ({columns_ddl}) "
            f"using parquet location {lit(str(folder))}"
        )

    def _catalog_columns(self, schema: str, table: str) -> list[str] | None:
        if not self.catalog.sql(f"show tables in {bq(schema)} like {lit(table)}"):
            return None
        return [r[0] for r in self.catalog.sql(f"show columns in {bq(schema)}.{bq(table)}")]

    def columns(self, schema: str, table: str) -> list[str] | None:
        key = (schema, table)
        if key not in self._columns:
            self.catalog.sql(f"create database if not exists {bq(schema)}")
            have = self._catalog_columns(schema, table)
            self._columns[key] = (
                None if have is None else [c for c in have if c not in META_COLUMNS]
            )
        return self._columns[key]

    def ensure_table(self, table: SourceTable, columns: list[str]) -> None:
        have = self.columns(table.schema, table.identifier)
        if have is None:
            cols = "".join(f"{bq(c)} string, " for c in columns)
            self._register(table.schema, table.identifier, cols + RAW_META_DDL)
        else:
            add = [c for c in columns if c not in have]
            if add:
                self.catalog.sql(
                    f"alter table {bq(table.schema)}.{bq(table.identifier)} add columns ("
                    + ", ".join(f"{bq(c)} string" for c in add)
                    + ")"
                )
        self._columns[(table.schema, table.identifier)] = list(
            dict.fromkeys([*(have or []), *columns])
        )

    def _ensure_book(self, name: str, columns: list[tuple[str, str]]) -> None:
        ddl = ", ".join(f"{bq(c)} {SPARK_TYPES[kind]}" for c, kind in columns)
        have = self._catalog_columns(self.meta_schema, name)
        if have is None:
            self._register(self.meta_schema, name, ddl)
            return
        add = [(c, kind) for c, kind in columns if c not in have]
        if add:
            self.catalog.sql(
                f"alter table {bq(self.meta_schema)}.{bq(name)} add columns ("
                + ", ".join(f"{bq(c)} {SPARK_TYPES[kind]}" for c, kind in add)
                + ")"
            )

    def _recatalog_raw(self, schemas: set[str]) -> None:
        """Raw tables whose files exist but which the catalog lacks (a new or lost metastore)."""
        for schema in sorted(schemas):
            base = self.root / schema
            if not base.is_dir():
                continue
            for folder in sorted(
                p for p in base.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
            ):
                parts = sorted(folder.glob("part-*.parquet"))
                if not parts or self._catalog_columns(schema, folder.name) is not None:
                    continue
                names = [
                    r[0]
                    for r in self.duck.execute(
                        "describe select * from read_parquet(?, union_by_name = true)",
                        [[str(p) for p in parts]],
                    ).fetchall()
                ]
                cols = "".join(f"{bq(c)} string, " for c in names if c not in META_COLUMNS)
                self._register(schema, folder.name, cols + RAW_META_DDL)

    # -- Warehouse ------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        path = self.root / ".elt_load.lock"
        with open(path, "a+") as handle:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise TransientError(
                            f"{self.description}: another `elt load` holds {path}; waited {timeout:.0f} s"
                        ) from None
                    time.sleep(0.25)
            self._locked = True
            try:
                yield
            finally:
                self._locked = False
                fcntl.flock(handle, fcntl.LOCK_UN)

    def prepare(self, schemas: set[str]) -> None:
        for schema in sorted(schemas | {self.meta_schema}):
            self.catalog.sql(f"create database if not exists {bq(schema)}")
        for book in BOOKKEEPING:
            self._ensure_book(book.name, [(c.name, c.kind) for c in book.columns])
        self._ensure_book(hash_key.TABLE, [(name, kind) for name, kind, _ in hash_key.COLUMNS])
        if self._locked:  # only a load, under the loader's lock: never a load still running
            self._sweep(schemas)
        self._recatalog_raw(schemas)

    def _manifest_rows(self) -> tuple[pa.Table | None, dict[str, Committed]]:
        """The manifest folder's rows (with the file holding each), and each source file's
        newest row: its commit. Older rows of a file are stale (a reload killed before it
        removed them)."""
        files = compaction.data_files(self.book_dir(MANIFEST))
        if not files:
            return None, {}
        table = self.duck.sql(
            "select * from read_parquet($files, filename = true, union_by_name = true)",
            params={"files": [str(p) for p in files]},
        ).to_arrow_table()
        assert table is not None  # a select always has a result
        newest: dict[str, tuple[tuple[Any, ...], Committed]] = {}
        columns = ("filename", "file_path", "batch_id", "finished_at", "status")
        for i, (name, rel, batch_id, finished, status) in enumerate(
            zip(*(table[c].to_pylist() for c in columns), strict=True)
        ):
            path = Path(name)
            fid, batch = file_id(rel), safe_name(batch_id)
            # on a tie (a rewrite killed before it removed its input), a file's own row
            rank = (finished, batch, not COMPACTED.match(path.name), path.name)
            if fid not in newest or rank > newest[fid][0]:
                newest[fid] = (rank, Committed(batch, status, path, i))
        return table, {fid: committed for fid, (_, committed) in newest.items()}

    def _current_manifest_files(self) -> dict[str, Committed]:
        """file id -> its newest manifest row."""
        return self._manifest_rows()[1]

    def raw_schemas(self) -> set[str]:
        """The schemas the loader has written raw tables into."""
        if not self.root.is_dir():
            return set()
        return {p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")}

    def raw_folders(self, schemas: set[str]) -> list[Path]:
        """The folders of the raw tables of ``schemas`` (not the bookkeeping's)."""
        folders = []
        for schema in sorted(schemas):
            base = self.root / schema
            if base.is_dir():
                folders += sorted(
                    p for p in base.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))
                )
        return folders

    def compact(self, schemas: set[str], min_files: int) -> list[compaction.Compacted]:
        """Merge the committed single files of each raw table of ``schemas``, and of the
        bookkeeping, where a folder has at least ``min_files`` of them (spark_files); the
        caller holds the loader's lock."""
        current = self._current_manifest_files()
        loaded = self._loaded_batches(current)
        is_loaded = compaction.named(lambda f, b: loaded.get(f) == b)
        commits = {c.path for c in current.values()}
        recorded = self._recorded_runs()
        folders: list[tuple[Path, Callable[[Path], bool], Layout]] = [
            (folder, is_loaded, compaction.RAW) for folder in self.raw_folders(schemas)
        ]
        folders += [
            (self.book_dir(MANIFEST), lambda p: p in commits, LAYOUTS[MANIFEST.name]),
            (self.book_dir(QUARANTINE), is_loaded, LAYOUTS[QUARANTINE.name]),
            (self.book_dir(RUNS), lambda p: True, LAYOUTS[RUNS.name]),
            # a run's nodes are committed by its row in RUNS (record_run writes that last)
            (self.book_dir(RUN_NODES), lambda p: p.stem in recorded, LAYOUTS[RUN_NODES.name]),
        ]
        done = []
        for folder, committed, layout in folders:
            with self._rewriting(folder):
                result = compaction.compact(self.duck, folder, committed, min_files, layout)
            if result is not None:
                done.append(result)
                self._refresh(folder.parent.name, folder.name)
        return done

    def _rewriting(self, folder: Path) -> threading.Lock:
        """The lock of one folder's rewrites, for the loader's threads."""
        with self._folder_locks_guard:
            return self._folder_locks.setdefault(folder, threading.Lock())

    def _connection(self) -> duckdb.DuckDBPyConnection:
        """This thread's DuckDB connection (the loader's threads commit files concurrently)."""
        if threading.current_thread() is threading.main_thread():
            return self.duck
        con: duckdb.DuckDBPyConnection | None = getattr(self._thread, "duck", None)
        if con is None:
            con = duckdb.connect()
            _configure(con, self.scratch)
            self._thread.duck = con
            with self._folder_locks_guard:
                self._connections.append(con)
        return con

    def _recorded_runs(self) -> set[str]:
        """The runs the history holds, as their file names' stems."""
        folder = self.book_dir(RUNS)
        names = {p.stem for p in compaction.single_files(folder)}
        merged = compaction.compacted_files(folder)
        if merged:
            rows = self.duck.execute(
                "select distinct invocation_id from read_parquet(?)", [[str(p) for p in merged]]
            ).fetchall()
            names |= {safe_name(str(r[0])) for r in rows}
        return names

    def _refresh(self, schema: str, table: str) -> None:
        """A Spark that listed the table's files before (the Thrift server) lists them again."""
        if self._catalog is not None and self._catalog_columns(schema, table) is not None:
            self.catalog.sql(f"refresh table {bq(schema)}.{bq(table)}")

    def _sweep(self, schemas: set[str]) -> None:
        """Remove what no manifest row vouches for: the leftovers of a load that died (and
        finish or undo a compaction it was in the middle of)."""
        books = [self.book_dir(b.name) for b in (MANIFEST, QUARANTINE)]
        for folder in [*self.raw_folders(schemas), *books]:
            compaction.recover(folder)
            for path in folder.glob(".*.tmp"):
                path.unlink(missing_ok=True)
        # a run is recorded without the loader's lock: only its compaction is undone here
        for book in (RUNS, RUN_NODES):
            compaction.recover(self.book_dir(book.name))
        current = self._current_manifest_files()
        loaded = self._loaded_batches(current)
        manifest = self.book_dir(MANIFEST)
        for path in compaction.single_files(manifest):
            m = _NAME.match(path.name)
            if m and m.group(1) in current and current[m.group(1)].path != path:
                path.unlink(missing_ok=True)
        compaction.purge(
            self.duck,
            manifest,
            lambda f, b: f in current and current[f].batch == b,
            LAYOUTS[MANIFEST.name],
        )
        folders = [(self.book_dir(QUARANTINE), LAYOUTS[QUARANTINE.name])]
        folders += [(folder, compaction.RAW) for folder in self.raw_folders(schemas)]
        for folder, layout in folders:
            for path in compaction.single_files(folder):
                m = _NAME.match(path.name)
                if m and loaded.get(m.group(1)) != m.group(2):
                    path.unlink(missing_ok=True)
            compaction.purge(self.duck, folder, lambda f, b: loaded.get(f) == b, layout)

    @staticmethod
    def _loaded_batches(current: dict[str, Committed]) -> dict[str, str]:
        """file id -> the batch whose rows are loaded, for files whose manifest row says loaded."""
        return {fid: c.batch for fid, c in current.items() if c.status == "loaded"}

    def commit_manifest(self, fid: str, batch: str, row: pa.Table) -> None:
        """The file's manifest row: written last, it commits the file; then the older batch's
        rows of the same source file go (their files, or their rows in compacted files)."""
        folder = self.book_dir(MANIFEST)
        write_arrow(row, folder / f"{fid}-{batch}.parquet")
        status = row["status"][0].as_py()
        stale = [p for p in folder.glob(f"{fid}-*.parquet") if p.name != f"{fid}-{batch}.parquet"]
        for path in stale:
            path.unlink(missing_ok=True)
        purges = [(folder, LAYOUTS[MANIFEST.name], lambda f, b: f != fid)]
        if status == "loaded":  # a failed file has no rows; a refused reload never gets here
            table = row["raw_table"][0].as_py()
            schema, _, identifier = table.partition(".")
            folders = [
                (self.table_dir(schema, identifier), compaction.RAW),
                (self.book_dir(QUARANTINE), LAYOUTS[QUARANTINE.name]),
            ]
            for folder_, layout in folders:
                for path in folder_.glob(f"*{fid}-*.parquet"):
                    m = _NAME.match(path.name)
                    if m and m.group(1) == fid and m.group(2) != batch:
                        path.unlink(missing_ok=True)
                purges.append((folder_, layout, lambda f, b: f != fid or b == batch))
        for folder_, layout, keep in purges:
            if not compaction.compacted_files(folder_):
                continue
            with self._rewriting(folder_):
                compaction.purge(self._connection(), folder_, keep, layout)

    def store_hash_key(self, production: bool) -> str:
        folder = self.book_dir(hash_key.TABLE)
        stored = folder / "key.parquet"
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute("create schema m")
            before: list[tuple[Any, ...]] = []
            if stored.exists():
                con.execute(
                    f"create table m.{hash_key.TABLE} as select * from read_parquet(?)",
                    [str(stored)],
                )
                before = con.execute(f"select key_id from m.{hash_key.TABLE}").fetchall()

            def run(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
                return con.execute(statement, params).fetchall()

            notice = hash_key.ensure(run, "m", "blob", "?", production)
            after = con.execute(f"select key_id from m.{hash_key.TABLE}").fetchall()
            if after != before:
                write_arrow(con.sql(f"select * from m.{hash_key.TABLE}").to_arrow_table(), stored)
            return notice
        finally:
            con.close()

    # files are named by their path alone (file_id): one path feeds one raw table here
    one_table_per_path = True

    def manifest(self) -> dict[ManifestKey, ManifestEntry]:
        rows, current = self._manifest_rows()
        if rows is None or not current:
            return {}
        newest = rows.take(sorted(c.index for c in current.values())).drop_columns(["filename"])
        table = "current_manifest"
        # columns an older loader did not write yet (file_id, first_loaded_at): null
        missing = [c for c in MANIFEST.columns if c.name not in newest.column_names]
        if missing:
            nulls = ", ".join(f"cast(null as {c.kind}) as {c.name}" for c in missing)
            table = f"(select *, {nulls} from {table})"
        found = self.duck.from_arrow(newest).query(
            "current_manifest", MANIFEST_SELECT.format(table=table)
        )
        assert found is not None  # a select always has a result
        return manifest_entries(found.fetchall())

    def touch(self, files: list[SourceFile]) -> None:
        current = self._current_manifest_files()
        merged: dict[Path, dict[str, dt.datetime]] = {}
        for f in files:
            found = current.get(file_id(f.rel))
            if found is None:
                continue
            if COMPACTED.match(found.path.name):
                merged.setdefault(found.path, {})[f.rel] = f.modified_at
                continue
            table = pq.read_table(found.path)
            index = table.schema.get_field_index("file_modified_at")
            column = pa.array([f.modified_at] * table.num_rows, table.schema.field(index).type)
            write_arrow(table.set_column(index, table.schema.field(index), column), found.path)
        folder = self.book_dir(MANIFEST)
        for path, times in merged.items():  # rows of compacted files: the file rewritten
            cases = " ".join(
                f"when {lit(rel)} then cast({lit(at.isoformat())} as timestamptz)"
                for rel, at in sorted(times.items())
            )
            select = (
                f"* replace (case file_path {cases} else file_modified_at end as file_modified_at)"
            )
            with self._rewriting(folder):
                compaction.rewrite(self.duck, folder, [path], LAYOUTS[MANIFEST.name], select=select)

    def record_run(self, run: pa.Table, nodes: pa.Table) -> bool:
        name = safe_name(str(run["invocation_id"][0].as_py())) + ".parquet"
        final = self.book_dir(RUNS) / name
        if final.exists() or final.stem in self._recorded_runs():
            return False
        write_arrow(nodes, self.book_dir(RUN_NODES) / name)
        write_arrow(run, final)  # the run's row commits it
        return True

    def analyze(self, tables: list[SourceTable]) -> None:
        # a table with many part files is compacted (the load holds its lock here)
        self.compact({t.schema for t in tables}, compact_files())
        # a long-lived Spark session (the Thrift server) caches file listings
        for t in tables:
            self.catalog.sql(f"refresh table {bq(t.schema)}.{bq(t.identifier)}")
        for book in (MANIFEST.name, QUARANTINE.name):
            self.catalog.sql(f"refresh table {bq(self.meta_schema)}.{bq(book)}")

    def session(self) -> Session:
        return SparkSession_(self)

    def close(self) -> None:
        self.duck.close()
        for con in self._connections:
            con.close()
        if self._catalog is not None:
            self._catalog.close()
