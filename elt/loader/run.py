"""``elt load``: plan which files are new, load each in its own transaction, report.

Planning happens first, in the main thread: fingerprint the files, compare with the
manifest, read CSV headers and Parquet schemas, and add new columns to the raw tables
(schema drift) before any rows move. Then the files load in parallel, each in its own
transaction. JSON lines files are an exception: their columns are only known after
parsing, so each JSON-lines table loads its files one after the other, adding columns
inside the file's transaction.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb

from elt.loader.config import SourceTable, load_sources
from elt.loader.errors import FileLoadError, LoaderError
from elt.loader.files import SourceFile, discover, fingerprint
from elt.loader.parse import csv_header, parquet_columns, parse
from elt.loader.profile import Target, load_target
from elt.loader.warehouse import FileLoad, FileResult, ManifestEntry, Session, Warehouse, utcnow

DEFAULT_META_SCHEMA = "raw"


@dataclasses.dataclass
class LoadOptions:
    project_dir: Path
    data_dir: Path
    profiles_dir: Path | None = None
    target: str | None = None
    reload: bool = False
    max_quarantine_rate: float = 1.0
    lock_timeout: float = 60.0
    workers: int = 2
    tables: tuple[str, ...] = ()  # only these source tables (source.table); all when empty


@dataclasses.dataclass
class LoadReport:
    target: str
    batch_id: str
    seconds: float
    results: list[FileResult]

    @property
    def ok(self) -> bool:
        return all(r.status in ("loaded", "reloaded", "skipped") for r in self.results)

    @property
    def drift(self) -> list[str]:
        return [
            f"{r.file.rel}: {note}"
            for r in self.results
            for note in r.message.split("; ")
            if "column" in note and r.status != "failed"
        ]


@dataclasses.dataclass
class Planned:
    """A file to load, with what planning learnt about it."""

    file: SourceFile
    replace: bool
    columns: list[str] | None = None  # known up front for CSV and Parquet
    notes: list[str] = dataclasses.field(default_factory=list)


def new_batch_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def open_warehouse(
    target: Target, lock_timeout: float, meta_schema: str = DEFAULT_META_SCHEMA
) -> Warehouse:
    if target.type == "duckdb":
        from elt.loader.duckdb_target import DuckDBWarehouse

        return DuckDBWarehouse(
            str(target.settings.get("path")), target.name, meta_schema, lock_timeout
        )
    from elt.loader.postgres_target import PostgresWarehouse

    return PostgresWarehouse(target.settings, target.name, meta_schema)


def select_tables(all_tables: list[SourceTable], wanted: tuple[str, ...]) -> list[SourceTable]:
    if not wanted:
        return all_tables
    by_label = {t.label: t for t in all_tables}
    unknown = [w for w in wanted if w not in by_label]
    if unknown:
        raise LoaderError(
            f"unknown source table(s) {', '.join(unknown)}; configured: {', '.join(by_label)}"
        )
    return [by_label[w] for w in wanted]


def plan_files(
    tables: list[SourceTable], data_dir: Path, manifest: dict[str, ManifestEntry], reload: bool
) -> tuple[dict[SourceTable, list[Planned]], list[FileResult]]:
    """Which files to load per table; results for the files skipped or refused."""
    todo: dict[SourceTable, list[Planned]] = {}
    done: list[FileResult] = []
    for table in tables:
        for path in discover(table, data_dir):
            f = fingerprint(table, data_dir, path)
            seen = manifest.get(f.rel)
            if seen is None or seen.status != "loaded":
                todo.setdefault(table, []).append(Planned(f, replace=False))
            elif seen.sha256 == f.sha256:
                done.append(FileResult(f, "skipped", message="already loaded (same content hash)"))
            elif reload:
                todo.setdefault(table, []).append(Planned(f, replace=True))
            else:
                done.append(
                    FileResult(
                        f,
                        "refused",
                        message=(
                            f"{f.rel}: content changed since it was loaded (sha256 {seen.sha256[:12]}… → {f.sha256[:12]}…); "
                            "rerun with --reload to replace its rows"
                        ),
                    )
                )
    return todo, done


def drift_note(
    table: SourceTable, known: list[str] | None, columns: list[str], rel: str
) -> tuple[list[str], list[str]]:
    """(columns to add, notes) for a file's columns against the table's; raises when they share nothing."""
    existing = known or []
    if existing and columns and not set(columns) & set(existing):
        raise FileLoadError(
            f"{rel}: its columns ({', '.join(columns)}) share nothing with {table.schema}.{table.identifier} "
            f"({', '.join(existing)}); wrong file or wrong path pattern?"
        )
    added = [c for c in columns if c not in existing]
    missing = [c for c in existing if c not in columns] if columns else []
    notes = []
    if known is not None and added:
        notes.append(f"new column(s) {', '.join(added)} added to {table.schema}.{table.identifier}")
    if missing:
        notes.append(f"column(s) {', '.join(missing)} missing from the file: null for its rows")
    return added, notes


GROUP_RECORDS = 250_000  # files commit together up to about this many rows: fewer, bigger commits
GROUP_FILES = 64


def groups(planned: list[Planned]) -> list[list[Planned]]:
    """Consecutive files of one table, batched for one transaction each."""
    out: list[list[Planned]] = []
    size = 0
    for p in planned:
        if not out or size >= GROUP_RECORDS or len(out[-1]) >= GROUP_FILES:
            out.append([])
            size = 0
        out[-1].append(p)
        size += p.file.records
    return out


class Loader:
    """Runs one load: a session per worker thread, one transaction per group of files.

    A group commits all its files or none, so each file's rows, quarantine rows and
    manifest row still commit together. Files are parsed and checked before the group's
    transaction opens; a file that fails its checks is failed alone. If the database
    refuses a group, every file of it is retried in a transaction of its own.
    """

    def __init__(
        self,
        warehouse: Warehouse,
        opts: LoadOptions,
        batch_id: str,
        on_file: Callable[[FileResult], None],
    ) -> None:
        self.warehouse = warehouse
        self.opts = opts
        self.batch_id = batch_id
        self.on_file = on_file
        self._local = threading.local()
        self._sessions: list[Session] = []
        self._lock = threading.Lock()
        self.results: list[FileResult] = []

    def session(self) -> Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self.warehouse.session()
            self._local.session = s
            with self._lock:
                self._sessions.append(s)
        return s

    def close(self) -> None:
        for s in self._sessions:
            s.close()

    def _report(self, result: FileResult) -> None:
        with self._lock:
            self.results.append(result)
            self.on_file(result)

    def _fail(self, p: Planned, message: str) -> None:
        if not p.replace:  # a refused reload keeps the manifest row of the loaded version
            self.session().record_failure(p.file, message, self.batch_id, utcnow())
        self._report(FileResult(p.file, "failed", message=message))

    def prepare_columns(self, table: SourceTable, planned: list[Planned]) -> list[Planned]:
        """CSV and Parquet: read headers, refuse files that share no column, add new columns up front."""
        known = self.warehouse.columns(table.schema, table.identifier)
        before = known
        ok: list[Planned] = []
        with duckdb.connect() as con:
            for p in planned:
                try:
                    p.columns = (
                        csv_header(p.file)
                        if table.format == "csv"
                        else parquet_columns(con, p.file)
                    )
                    added, p.notes = drift_note(table, known, p.columns, p.file.rel)
                except FileLoadError as exc:
                    self._fail(p, str(exc))
                    continue
                known = (known or []) + added
                ok.append(p)
        if known and known != before:
            self.warehouse.ensure_table(table, known)
        return ok

    def _drop_temp(self, tables: list[str]) -> None:
        for name in tables:
            self.session().duck.execute(f"drop table if exists {name}")

    def _check(
        self, p: Planned, known: list[str] | None, temp: list[str]
    ) -> tuple[FileLoad, list[str] | None]:
        """Parse one file and check it; returns what to write and the table's columns after it."""
        f = p.file
        started = utcnow()
        parsed = parse(self.session().duck, f, p.columns)
        temp.extend(parsed.temp_tables)
        accounted = parsed.rows + len(parsed.rejects)
        if accounted != f.records:
            raise FileLoadError(
                f"{f.rel}: {f.records} records in the file but {parsed.rows} parsed + {len(parsed.rejects)} quarantined = "
                f"{accounted}; refusing to lose rows (quoted values spanning lines are not supported)"
            )
        if f.records and len(parsed.rejects) / f.records > self.opts.max_quarantine_rate:
            first = parsed.rejects[0]
            raise FileLoadError(
                f"{f.rel}: {len(parsed.rejects)} of {f.records} records ({len(parsed.rejects) / f.records:.1%}) would be "
                f"quarantined, above --max-quarantine-rate {self.opts.max_quarantine_rate:.1%}; first: line {first.line}: {first.reason}"
            )
        add: list[str] = []
        create = False
        notes = list(p.notes)
        if p.columns is None:  # JSON lines: columns known only now
            add, more = drift_note(f.table, known, parsed.columns, f.rel)
            notes += more
            create = known is None and bool(parsed.columns)
            if parsed.columns:
                known = (known or []) + add
        if f.records == 0:
            notes.append("no records (empty or header only)")
        load = FileLoad(
            f,
            parsed.columns,
            add,
            create,
            parsed.select_sql,
            parsed.rows,
            parsed.rejects,
            p.replace,
            self.batch_id,
            started,
            "; ".join(notes),
        )
        return load, known

    def load_group(self, group: list[Planned]) -> None:
        clock = time.perf_counter()
        session = self.session()
        table = group[0].file.table
        known = session.columns(table.schema, table.identifier)
        loads: list[tuple[Planned, FileLoad]] = []
        temp: list[str] = []
        for p in group:
            try:
                load, known = self._check(p, known, temp)
                loads.append((p, load))
            except FileLoadError as exc:
                self._fail(p, str(exc))
        if not loads:
            self._drop_temp(temp)
            return
        try:
            session.write_group([load for _, load in loads])
        except FileLoadError as exc:
            self._drop_temp(temp)
            if len(loads) == 1:
                self._fail(loads[0][0], str(exc))
            else:
                for p, _ in loads:
                    self.load_group([p])
            return
        self._drop_temp(temp)
        seconds = (time.perf_counter() - clock) / len(loads)  # parse and write, shared out
        for p, load in loads:
            status = "reloaded" if p.replace else "loaded"
            self._report(
                FileResult(p.file, status, load.rows, len(load.rejects), seconds, load.message)
            )

    def load_table_in_order(self, planned: list[Planned]) -> None:
        for group in groups(planned):
            self.load_group(group)


def load(
    opts: LoadOptions,
    on_plan: Callable[[int, int], None] | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> LoadReport:
    began = time.perf_counter()
    tables = select_tables(load_sources(opts.project_dir), opts.tables)
    if not opts.data_dir.is_dir():
        raise LoaderError(
            f"data directory {opts.data_dir} does not exist (use --data-dir or ELT_DATA_DIR)"
        )
    target = load_target(opts.project_dir, opts.profiles_dir, opts.target)
    warehouse = open_warehouse(target, opts.lock_timeout)
    batch_id = new_batch_id()
    loader = Loader(warehouse, opts, batch_id, on_file or (lambda r: None))
    try:
        with warehouse.lock(opts.lock_timeout):
            warehouse.prepare({t.schema for t in tables})
            todo, skipped = plan_files(tables, opts.data_dir, warehouse.manifest(), opts.reload)
            if on_plan:
                on_plan(sum(len(v) for v in todo.values()), len(skipped))
            tasks: list[tuple[int, Callable[[], object]]] = []
            for table, planned in todo.items():
                if table.format == "jsonl":
                    # columns change inside the files' transactions: one at a time
                    size = sum(p.file.size for p in planned)
                    tasks.append((size, functools.partial(loader.load_table_in_order, planned)))
                else:
                    for group in groups(loader.prepare_columns(table, planned)):
                        size = sum(p.file.size for p in group)
                        tasks.append((size, functools.partial(loader.load_group, group)))
            tasks.sort(key=lambda t: -t[0])  # biggest first keeps the workers busy to the end
            with ThreadPoolExecutor(max_workers=max(1, opts.workers)) as pool:
                for future in [pool.submit(task) for _, task in tasks]:
                    future.result()
            loaded = {r.file.table for r in loader.results if r.status in ("loaded", "reloaded")}
            warehouse.analyze([t for t in tables if t in loaded])
    finally:
        loader.close()
        warehouse.close()
    return LoadReport(
        warehouse.description, batch_id, time.perf_counter() - began, skipped + loader.results
    )
