"""The DuckDB warehouse: files are parsed and written inside the warehouse's own transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from elt.errors import FileLoadError, LoaderError
from elt.history.tables import RUN_NODES, RUNS
from elt.loader import hash_key
from elt.loader.bookkeeping import BOOKKEEPING
from elt.loader.config import SourceTable
from elt.loader.duckdb_bulk import insert_csv_files
from elt.loader.files import SourceFile
from elt.loader.parse import q
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
    utcnow,
)
from elt.warehouse.duckdb_file import wait_for_lock

# a column store: a file's path and batch repeated down its rows cost next to nothing
LAYOUT = RawLayout("varchar", "current_timestamp")


def _configure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("set enable_progress_bar = false")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = true")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str] | None:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows if r[0] not in META_COLUMNS] if rows else None


class DuckDBSession(Session):
    def __init__(self, con: duckdb.DuckDBPyConnection, meta_schema: str) -> None:
        self.duck = con
        self.meta = q(meta_schema)

    def columns(self, schema: str, table: str) -> list[str] | None:
        return _columns(self.duck, schema, table)

    @contextlib.contextmanager
    def _transaction(self, loads: list[FileLoad]) -> Iterator[None]:
        """One transaction; a database error rolls it back and becomes a FileLoadError."""
        try:
            self.duck.execute("begin transaction")
            yield
            self.duck.execute("commit")
        except (duckdb.Error, FileLoadError) as exc:
            self._rollback()
            if isinstance(exc, FileLoadError):
                raise
            raise FileLoadError(
                f"DuckDB refused the rows of {', '.join(x.file.rel for x in loads)}: {str(exc).splitlines()[0]}"
            ) from None

    def _bookkeep(self, loads: list[FileLoad]) -> None:
        """The quarantine rows and the manifest rows of loaded files."""
        now = utcnow()
        quarantine = all_quarantine(loads, now)
        if quarantine is not None:
            self._append(QUARANTINE.name, quarantine)
        if loads:
            self._upsert_manifest(MANIFEST.rows([loaded_row(x, now) for x in loads]))

    def write_group(self, loads: list[FileLoad]) -> None:
        with self._transaction(loads):
            for load in loads:
                self._write_rows(load)
            self._bookkeep(loads)

    bulk_csv = True

    def write_csv_bulk(
        self, loads: list[FileLoad], max_quarantine_rate: float
    ) -> dict[str, FileLoadError]:
        t = loads[0].file.table
        target = f"{q(t.schema)}.{q(t.identifier)}"
        with self._transaction(loads):
            scanned = insert_csv_files(
                self.duck,
                target,
                [x.file for x in loads],
                loads[0].columns,
                loads[0].batch_id,
                max_quarantine_rate,
            )
            failed = {s.file.rel: s.error for s in scanned if s.error}
            for load, s in zip(loads, scanned, strict=True):
                load.rows, load.rejects = s.rows, s.rejects
            self._bookkeep([x for x in loads if x.file.rel not in failed])
        return {rel: why for rel, why in failed.items() if why}

    def _delete_file(self, target: str, f: SourceFile) -> None:
        """A reload: the file's earlier raw and quarantine rows (of this table) go first."""
        self.duck.execute(f"delete from {target} where _source_file = ?", [f.rel])
        self.duck.execute(
            f"delete from {self.meta}.{QUARANTINE.name} where file_path = ? and source_table = ?",
            [f.rel, f.table.label],
        )

    def _write_rows(self, load: FileLoad) -> None:
        t = load.file.table
        target = f"{q(t.schema)}.{q(t.identifier)}"
        for ddl in LAYOUT.schema_changes(target, load.create, load.columns, load.add_columns):
            self.duck.execute(ddl)
        if load.replace:
            self._delete_file(target, load.file)
        cols = ", ".join(q(c) for c in [*load.columns, *LAYOUT.meta_columns()])
        inserted = self.duck.execute(
            f"insert into {target} ({cols}) "
            f"select *, {', '.join(LAYOUT.meta_values(load))} from ({load.select_sql})"
        ).fetchall()[0][0]
        check_inserted(load, int(inserted))

    def _append(self, table: str, rows: pa.Table) -> None:
        self.duck.register("_elt_rows", rows)
        self.duck.execute(f"insert into {self.meta}.{table} by name select * from _elt_rows")
        self.duck.unregister("_elt_rows")

    def _upsert_manifest(self, rows: pa.Table) -> None:
        keys = [
            f"{t}\x00{p}"
            for t, p in zip(
                rows["raw_table"].to_pylist(), rows["file_path"].to_pylist(), strict=True
            )
        ]
        self.duck.execute(
            f"delete from {self.meta}.{MANIFEST.name} "
            "where list_contains(?, raw_table || chr(0) || file_path)",
            [keys],
        )
        self._append(MANIFEST.name, rows)

    def _rollback(self) -> None:
        with contextlib.suppress(duckdb.Error):  # no transaction open
            self.duck.execute("rollback")

    def record_rows(self, rows: list[tuple[object, ...]]) -> None:
        self.duck.execute("begin transaction")
        self._upsert_manifest(MANIFEST.rows(rows))
        self.duck.execute("commit")

    def close(self) -> None:
        self.duck.close()


class DuckDBWarehouse(Warehouse):
    def __init__(self, path: str, target_name: str, meta_schema: str, lock_timeout: float) -> None:
        self.path = Path(path)
        self.upgrade_notices: list[str] = []
        self.meta_schema = meta_schema
        self.description = f"target {target_name!r} (duckdb file {self.path})"
        self.con = self._connect(lock_timeout)
        _configure(self.con)
        # checkpoint once at the end of the run, not every 16 MB of WAL: each checkpoint
        # recompresses row groups, and many small commits would trigger dozens of them
        self.con.execute("set checkpoint_threshold = '4GB'")

    def _connect(self, timeout: float) -> duckdb.DuckDBPyConnection:
        """DuckDB's file lock is the loader's lock: wait for it up to ``timeout`` seconds."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LoaderError(f"{self.description}: cannot create its folder: {exc}") from None
        return wait_for_lock(
            lambda: duckdb.connect(str(self.path)),
            self.description,
            timeout,
            "another loader, dbt or a query session",
        )

    def own_files(self) -> frozenset[Path]:
        base = self.path.resolve()
        return frozenset({base, base.with_name(base.name + ".wal")})

    @contextlib.contextmanager
    def lock(self, timeout: float) -> Iterator[None]:
        yield  # held since connect: one process at a time may open a DuckDB file for writing

    def prepare(self, schemas: set[str]) -> None:
        for schema in sorted(schemas | {self.meta_schema}):
            self.con.execute(f"create schema if not exists {q(schema)}")
        for book in BOOKKEEPING:
            self.con.execute(book.ddl(q(self.meta_schema)))
            for ddl in book.upgrades(
                q(self.meta_schema), self.columns(self.meta_schema, book.name) or []
            ):
                self.con.execute(ddl)
        self._rekey_manifest()

    def _rekey_manifest(self) -> None:
        """A manifest of an older loader is keyed by file_path alone: rebuilt with the key
        (raw_table, file_path) in one transaction (DuckDB cannot alter a primary key)."""
        meta = q(self.meta_schema)
        key = self.con.execute(
            "select constraint_column_names from duckdb_constraints() "
            "where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
            [self.meta_schema, MANIFEST.name],
        ).fetchall()
        if not key or tuple(key[0][0]) == MANIFEST.primary_key:
            return
        cols = ", ".join(MANIFEST.column_names)
        self.con.execute("begin transaction")
        self.con.execute(MANIFEST.ddl(meta, "_elt_manifest_rekeyed"))
        self.con.execute(
            f"insert into {meta}._elt_manifest_rekeyed ({cols}) "
            f"select {cols} from {meta}.{MANIFEST.name}"
        )
        self.con.execute(f"drop table {meta}.{MANIFEST.name}")
        self.con.execute(f"alter table {meta}._elt_manifest_rekeyed rename to {MANIFEST.name}")
        self.con.execute("commit")

    def store_hash_key(self, production: bool) -> str:
        def run(statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
            return self.con.execute(statement, params).fetchall()

        return hash_key.ensure(run, q(self.meta_schema), "blob", "?", production)

    def manifest(self) -> dict[ManifestKey, ManifestEntry]:
        table = f"{q(self.meta_schema)}.{MANIFEST.name}"
        return manifest_entries(self.con.execute(MANIFEST_SELECT.format(table=table)).fetchall())

    def columns(self, schema: str, table: str) -> list[str] | None:
        return _columns(self.con, schema, table)

    def touch(self, files: list[SourceFile]) -> None:
        if files:
            self.con.executemany(
                f"update {q(self.meta_schema)}.{MANIFEST.name} set file_modified_at = ? "
                "where raw_table = ? and file_path = ?",
                [(f.modified_at, raw_table_of(f.table), f.rel) for f in files],
            )

    def record_run(self, run: pa.Table, nodes: pa.Table) -> bool:
        meta = q(self.meta_schema)
        self.con.execute("begin transaction")
        try:
            seen = self.con.execute(
                f"select count(*) from {meta}.{RUNS.name} where invocation_id = ?",
                [run["invocation_id"][0].as_py()],
            ).fetchall()[0][0]
            if not seen:
                for name, rows in ((RUNS.name, run), (RUN_NODES.name, nodes)):
                    self.con.register("_elt_rows", rows)
                    self.con.execute(f"insert into {meta}.{name} by name select * from _elt_rows")
                    self.con.unregister("_elt_rows")
            self.con.execute("commit")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("rollback")
            raise
        return not seen

    def ensure_table(self, table: SourceTable, columns: list[str]) -> None:
        have = self.columns(table.schema, table.identifier)
        target = f"{q(table.schema)}.{q(table.identifier)}"
        try:
            self.con.execute("begin transaction")
            for ddl in LAYOUT.schema_changes(
                target, have is None, columns, [c for c in columns if c not in (have or [])]
            ):
                self.con.execute(ddl)
            self.con.execute("commit")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("rollback")
            raise FileLoadError(
                f"DuckDB refused the columns of {target}: {str(exc).splitlines()[0]}"
            ) from None

    def session(self) -> Session:
        cur = self.con.cursor()
        _configure(cur)
        return DuckDBSession(cur, self.meta_schema)

    def close(self) -> None:
        try:
            self.con.execute("checkpoint")
        except duckdb.Error as exc:
            full = disk_full(exc, self.description)
            self.con.close()
            if full is not None:
                raise full from None
            raise
        self.con.close()
