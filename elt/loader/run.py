"""``elt load``: plan which files are new, load each in its own transaction, report.

Planning happens first, in the main thread: fingerprint the files, compare with the
manifest, read CSV headers and Parquet schemas, and add new columns to the raw tables
(schema drift) before any rows move. Then the files load in parallel, each in its own
transaction. JSON lines files are an exception: their columns are only known after
parsing, so each JSON-lines table loads its files one after the other, adding columns
inside the file's transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import itertools
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from elt.environment import label
from elt.errors import FileLoadError, FileNeedsOwnScan, FileNotReady, LoaderError
from elt.history import runs
from elt.loader.bookkeeping import FileStatus, Note, NoteKind, Outcome
from elt.loader.config import UNTERMINATED_QUIET_SECONDS, SourceTable, load_sources
from elt.loader.files import (
    Found,
    SourceFile,
    check_unchanged,
    discover,
    fingerprint,
    normalised_copy,
    stat,
    with_blank_lines,
)
from elt.loader.names import raw_columns
from elt.loader.parse import accounting_error, csv_header, parquet_columns, parse
from elt.loader.warehouse import (
    FileLoad,
    FileResult,
    ManifestEntry,
    ManifestKey,
    Session,
    Warehouse,
    raw_table_of,
    renamed_row,
    utcnow,
)
from elt.warehouse.engines import choose
from elt.warehouse.profile import Target

DEFAULT_META_SCHEMA = "raw"


@dataclasses.dataclass
class LoadOptions:
    project_dir: Path
    data_dir: Path
    target: Target
    # the label the run history records (prod, dev_<user>, ci_<run>); None: the process's
    # environment (elt.environment.label), for callers with no context of their own
    environment: str | None = None
    reload: bool = False
    max_quarantine_rate: float = 1.0
    lock_timeout: float = 60.0
    workers: int = 2
    tables: tuple[str, ...] = ()  # only these source tables (source.table); all when empty
    verify: bool = False  # rehash every file, even those whose size and time are unchanged


@dataclasses.dataclass
class LoadReport:
    target: str
    batch_id: str
    seconds: float
    results: list[FileResult]
    unmatched: list[SourceTable] = dataclasses.field(default_factory=list)  # no file at all
    notices: list[str] = dataclasses.field(default_factory=list)  # e.g. the hash key changed

    @property
    def ok(self) -> bool:
        return all(r.status.ok for r in self.results)

    @property
    def drift(self) -> list[str]:
        return [
            f"{r.file.rel}: {note}"
            for r in self.results
            for note in r.drift
            if r.status is not Outcome.FAILED
        ]

    @property
    def warnings(self) -> list[str]:
        return [
            f"no file in the data directory matches {t.path} ({t.label}, {t.defined_in})"
            for t in self.unmatched
        ] + self.notices


@dataclasses.dataclass
class Planned:
    """A file to load, with what planning learnt about it."""

    file: SourceFile
    replace: bool
    columns: list[str] | None = None  # raw names, known up front for CSV and Parquet
    renames: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[Note] = dataclasses.field(default_factory=list)
    first_loaded_at: dt.datetime | None = None  # a reload: when the file was first loaded


def new_batch_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def open_warehouse(
    target: Target, lock_timeout: float, meta_schema: str = DEFAULT_META_SCHEMA
) -> Warehouse:

    def duckdb() -> Warehouse:
        from elt.loader.duckdb_target import DuckDBWarehouse

        path = str(target.settings.get("path"))
        return DuckDBWarehouse(path, target.name, meta_schema, lock_timeout)

    def spark() -> Warehouse:
        from elt.loader.spark_target import SparkWarehouse

        return SparkWarehouse(target.settings, target.name, meta_schema)

    def postgres() -> Warehouse:
        from elt.loader.postgres_target import PostgresWarehouse

        return PostgresWarehouse(target.settings, target.name, meta_schema)

    return choose(target, {"duckdb": duckdb, "postgres": postgres, "spark": spark}, "load")


def record(run: runs.RunRecord, target: Target, lock_timeout: float = 60.0) -> bool:
    """Append a run to the warehouse's run history, idempotently: the loader's role owns the
    history, as it owns the manifest. True when it was new (a rerun for the same invocation
    adds nothing)."""
    import duckdb
    import psycopg2

    warehouse = open_warehouse(target, lock_timeout)
    try:
        warehouse.prepare(set())  # the history tables, on a warehouse older than them
        return warehouse.record_run(run.run, run.nodes)
    except (psycopg2.Error, duckdb.Error) as exc:
        # e.g. the history tables owned by another role than the loader's
        said = " ".join(str(exc).split())
        raise LoaderError(f"cannot record the run in {target.describe()}: {said}") from None
    finally:
        warehouse.close()


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


def _refused(table: SourceTable, found: Found, message: str) -> FileResult:
    f = SourceFile(table, found.path, found.rel, 0, utcnow(), "", 0)
    return FileResult(f, Outcome.REFUSED, message=message)


def _refused_outside(table: SourceTable, found: Found, data_dir: Path) -> FileResult:
    return _refused(
        table,
        found,
        f"{found.rel}: a symlink to {found.outside}, outside the data directory "
        f"{data_dir.resolve()}; refused (copy the file into the data directory to load it)",
    )


def _from_manifest(table: SourceTable, found: Found, entry: ManifestEntry) -> SourceFile:
    """A loaded file whose size and time are unchanged: its fingerprint from the manifest."""
    header = 1 if table.format == "csv" else 0
    assert entry.modified_at is not None
    return SourceFile(
        table,
        found.path,
        found.rel,
        entry.size,
        entry.modified_at,
        entry.sha256,
        entry.rows + header,
    )


_KEPT = (FileStatus.LOADED, FileStatus.RENAMED)  # a file whose content the raw table holds


@dataclasses.dataclass
class Plan:
    """What planning decided: files to load per table, results of the files that do not load,
    tables no file matched, unchanged files to touch, renamed files to record."""

    todo: dict[SourceTable, list[Planned]] = dataclasses.field(default_factory=dict)
    done: list[FileResult] = dataclasses.field(default_factory=list)
    unmatched: list[SourceTable] = dataclasses.field(default_factory=list)
    touched: list[SourceFile] = dataclasses.field(default_factory=list)
    renamed: list[tuple[SourceFile, str]] = dataclasses.field(default_factory=list)
    new_content: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)


def _waiting(f: SourceFile, why: str) -> FileResult:
    return FileResult(
        f, Outcome.WAITING, message=f"{f.rel}: not ready ({why}); left for the next run"
    )


def not_ready(table: SourceTable, path: Path, now: float) -> str | None:
    """Why a file is not ready under the source's ``meta.elt.ready``, or None."""
    rule = table.ready
    if rule is None:
        return None
    if rule.marker and not (path.parent / rule.marker).exists():
        return f"no {rule.marker} in its folder yet"
    if rule.quiet_seconds:
        age = now - path.stat().st_mtime
        if age < rule.quiet_seconds:
            return f"changed {age:.0f} s ago, quiet_seconds is {rule.quiet_seconds}"
    return None


def unterminated(f: SourceFile, now: float) -> str | None:
    """Without a readiness rule: a text file whose last line has no newline, changed lately."""
    if f.table.ready is not None or f.table.format == "parquet" or not f.open_end:
        return None
    age = now - f.modified_at.timestamp()
    if age >= UNTERMINATED_QUIET_SECONDS:
        return None
    return (
        f"its last line has no newline and it changed {max(age, 0):.0f} s ago: still being written? "
        f"It loads once unchanged for {UNTERMINATED_QUIET_SECONDS} s (or declare meta.elt.ready)"
    )


def _same_content(
    f: SourceFile, by_hash: dict[tuple[str, str], list[ManifestEntry]], data_dir: Path
) -> tuple[list[str], list[str]]:
    """(gone, present): paths of this raw table's loaded files with the same content."""
    earlier = [e for e in by_hash.get((raw_table_of(f.table), f.sha256), []) if e.rel != f.rel]
    gone = [e.rel for e in earlier if not (data_dir / e.rel).exists()]
    present = [e.rel for e in earlier if e.rel not in gone]
    return gone, present


def plan_files(
    tables: list[SourceTable],
    data_dir: Path,
    manifest: dict[ManifestKey, ManifestEntry],
    reload: bool,
    verify: bool = False,
    workers: int = 1,
    own: Collection[Path] = (),
    one_table_per_path: bool = False,
) -> Plan:
    """Which files to load per table, and what becomes of the others.

    A loaded file with the size and modification time the manifest holds is not read
    again unless ``verify``; any other file is hashed and compared (``workers`` files at a
    time: hashing releases the interpreter's lock). The manifest is keyed by raw table and
    path: a path another table loaded is new to this one. A new path whose content this
    raw table already holds is a rename when the earlier path is gone (recorded, not loaded
    again) and a re-delivery when it is still there (loaded, with a notice; the
    publication audit holds it back); a full extract loads it as a new observation.
    """
    plan = Plan()
    found_files: dict[tuple[SourceTable, str], Found] = {}
    by_hash: dict[tuple[str, str], list[ManifestEntry]] = {}
    paths_elsewhere: dict[str, str] = {}
    for entry in manifest.values():
        if entry.status in _KEPT:
            by_hash.setdefault((entry.raw_table, entry.sha256), []).append(entry)
        paths_elsewhere.setdefault(entry.rel, entry.raw_table)
    now = time.time()
    for table in tables:
        raw = raw_table_of(table)
        found_any = False
        for found in discover(table, data_dir, own):
            found_any = True
            if found.bad_name:
                plan.done.append(_refused(table, found, found.bad_name))
                continue
            if found.outside:
                plan.done.append(_refused_outside(table, found, data_dir))
                continue
            seen = manifest.get((raw, found.rel))
            if found.same_as:
                f = SourceFile(table, found.path, found.rel, 0, utcnow(), "", 0)
                note = Note(
                    NoteKind.DUPLICATE_FILE,
                    reason=f"the same file as {found.same_as} (a symlink): loaded once, under that name",
                )
                plan.done.append(FileResult(f, Outcome.SKIPPED, message=str(note), notes=(note,)))
                continue
            other = paths_elsewhere.get(found.rel)
            if one_table_per_path and seen is None and other is not None and other != raw:
                plan.done.append(
                    _refused(
                        table,
                        found,
                        f"{found.rel}: already loaded into {other}; on this target one file "
                        f"feeds one raw table (narrow one of the two meta.elt.path patterns)",
                    )
                )
                continue
            if (
                seen is not None
                and seen.status in _KEPT
                and not verify
                and (seen.size, seen.modified_at) == stat(found.path)
            ):
                plan.done.append(
                    FileResult(
                        _from_manifest(table, found, seen),
                        Outcome.SKIPPED,
                        message=seen.message
                        if seen.status == FileStatus.RENAMED and seen.message
                        else "already loaded (same size and modification time)",
                    )
                )
                continue
            why = not_ready(table, found.path, now)
            if why:
                f = SourceFile(table, found.path, found.rel, 0, utcnow(), "", 0)
                plan.done.append(_waiting(f, why))
                continue
            found_files[(table, found.rel)] = found
        if not found_any:
            plan.unmatched.append(table)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashed = pool.map(lambda k: fingerprint(k[0], data_dir, found_files[k].path), found_files)
        for (table, rel), f in zip(found_files, hashed, strict=True):
            seen = manifest.get((raw_table_of(table), rel))
            why = unterminated(f, now)
            if why and (seen is None or seen.sha256 != f.sha256):
                plan.done.append(_waiting(f, why))
            elif (
                seen is None
                or seen.status not in _KEPT
                or (seen.status == FileStatus.RENAMED and seen.sha256 != f.sha256)
            ):
                _plan_new(plan, table, f, by_hash, data_dir)
            elif seen.sha256 == f.sha256:
                plan.touched.append(f)
                plan.done.append(
                    FileResult(f, Outcome.SKIPPED, message="already loaded (same content hash)")
                )
            elif reload:
                plan.todo.setdefault(table, []).append(
                    Planned(
                        f, replace=True, first_loaded_at=seen.first_loaded_at or seen.finished_at
                    )
                )
            else:
                plan.done.append(
                    FileResult(
                        f,
                        Outcome.REFUSED,
                        message=(
                            f"{f.rel}: content changed since it was loaded (sha256 {seen.sha256[:12]}… → {f.sha256[:12]}…); "
                            "rerun with --reload to replace its rows"
                        ),
                    )
                )
    return plan


def _plan_new(
    plan: Plan,
    table: SourceTable,
    f: SourceFile,
    by_hash: dict[tuple[str, str], list[ManifestEntry]],
    data_dir: Path,
) -> None:
    """A path new to the raw table: a rename, a re-delivery, or simply a new file."""
    gone, present = ([], []) if table.full_extract else _same_content(f, by_hash, data_dir)
    if gone and not present:
        note = Note(
            NoteKind.RENAMED_FILE,
            reason=(
                f"renamed from {gone[0]}: the same content, and that path is gone; "
                f"not loaded again (its rows keep _source_file {gone[0]})"
            ),
        )
        plan.renamed.append((f, str(note)))
        plan.done.append(FileResult(f, Outcome.SKIPPED, message=str(note), notes=(note,)))
        return
    key = (raw_table_of(table), f.sha256)
    twin = None if table.full_extract else plan.new_content.get(key)
    plan.new_content.setdefault(key, f.rel)
    if twin is not None and not present:
        present = [f"{twin} (in this load)"]
    notes = []
    if present:
        notes.append(
            Note(
                NoteKind.REDELIVERED,
                reason=(
                    f"the same content as {present[0]}, loaded before: a re-delivery, loaded "
                    "again (the publication audit blocks it; delete the copy and reload, or accept it)"
                ),
            )
        )
    plan.todo.setdefault(table, []).append(Planned(f, replace=False, notes=notes))


def drift_note(
    table: SourceTable, known: list[str] | None, columns: list[str], rel: str
) -> tuple[list[str], list[Note]]:
    """(columns to add, notes) for a file's raw columns against the table's; raises when they share nothing."""
    existing = known or []
    if existing and columns and not set(columns) & set(existing):
        raise FileLoadError(
            f"{rel}: its columns ({', '.join(columns)}) share nothing with {table.schema}.{table.identifier} "
            f"({', '.join(existing)}); wrong file or wrong path pattern?"
        )
    added = [c for c in columns if c not in existing]
    missing = [c for c in existing if c not in columns] if columns else []
    where = f"{table.schema}.{table.identifier}"
    notes = (
        [Note(NoteKind.COLUMN_ADDED, c, table=where) for c in added] if known is not None else []
    )
    notes += [Note(NoteKind.COLUMN_MISSING, c, table=where) for c in missing]
    return added, notes


def rename_notes(renames: dict[str, str], reasons: dict[str, str]) -> list[Note]:
    return [Note(NoteKind.COLUMN_RENAMED, c, raw, reason=reasons[c]) for c, raw in renames.items()]


GROUP_RECORDS = 1_000_000  # files commit together up to about this many rows: fewer, bigger commits
GROUP_FILES = 256


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
    manifest row still commit together; a file that fails its checks is failed alone (on
    DuckDB's one-scan CSV path its rows are removed inside the transaction; elsewhere files
    are parsed and checked before it opens). If the database refuses a group, every file of
    it is retried in a transaction of its own.
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
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._file_ids = itertools.count(1)

    def number_files_after(self, manifest: dict[ManifestKey, ManifestEntry]) -> None:
        """File ids of this run follow the greatest in the manifest (the loader's lock is held)."""
        self._file_ids = itertools.count(
            max((e.file_id for e in manifest.values() if e.file_id is not None), default=0) + 1
        )

    def new_file_id(self) -> int:
        with self._lock:
            return next(self._file_ids)

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
        if self._scratch is not None:
            self._scratch.cleanup()

    def _report(self, result: FileResult) -> None:
        with self._lock:
            self.results.append(result)
            self.on_file(result)

    def _fail(self, p: Planned, error: FileLoadError | str) -> None:
        message = str(error)
        if isinstance(error, FileNotReady):  # still being written: nothing recorded
            self._report(FileResult(p.file, Outcome.WAITING, message=message))
            return
        if not p.replace:  # a refused reload keeps the manifest row of the loaded version
            self.session().record_failure(p.file, message, self.batch_id, utcnow())
        self._report(FileResult(p.file, Outcome.FAILED, message=message))

    def readable(self, p: Planned) -> None:
        """Line endings DuckDB cannot read as they are (CRLF among LF, CR alone): the file is
        read from a normalised copy in the run's scratch folder (same lines, same numbers)."""
        if p.file.needs_copy and p.file.unreadable is None:
            with self._lock:
                if self._scratch is None:
                    self._scratch = tempfile.TemporaryDirectory(prefix="elt-load-")
            p.file = normalised_copy(p.file, Path(self._scratch.name))

    def prepare_columns(self, table: SourceTable, planned: list[Planned]) -> list[Planned]:
        """CSV and Parquet: read headers, refuse files that share no column, add new columns up front."""
        known = self.warehouse.columns(table.schema, table.identifier)
        before = known
        ok: list[Planned] = []
        for p in planned:
            try:
                if p.file.unreadable:
                    raise FileLoadError(p.file.unreadable)
                self.readable(p)
                source = csv_header(p.file) if table.format == "csv" else parquet_columns(p.file)
                p.columns, p.renames, reasons = raw_columns(p.file.rel, source, known)
                added, drift = drift_note(table, known, p.columns, p.file.rel)
                p.notes = p.notes + rename_notes(p.renames, reasons) + drift
            except FileLoadError as exc:
                self._fail(p, exc)
                continue
            known = (known or []) + added
            ok.append(p)
        if known and known != before:
            try:
                self.warehouse.ensure_table(table, known)
            except FileLoadError as exc:
                for p in ok:
                    self._fail(p, f"{p.file.rel}: {exc}")
                return []
        return ok

    def _drop_temp(self, tables: list[str]) -> None:
        for name in tables:
            self.session().duck.execute(f"drop table if exists {name}")

    def _check(
        self, p: Planned, known: list[str] | None, temp: list[str]
    ) -> tuple[FileLoad, list[str] | None]:
        """Parse one file and check it; returns what to write and the table's columns after it."""
        self.readable(p)
        f = p.file
        started = utcnow()
        parsed = parse(self.session().duck, f, p.columns, known)
        temp.extend(parsed.temp_tables)
        error = accounting_error(f, parsed.rows, parsed.rejects, self.opts.max_quarantine_rate)
        if error:
            check_unchanged(f)  # a file still growing is not ready, not wrong
            if f.table.format == "csv" and not f.blank_lines:
                blanked = with_blank_lines(f)  # blank lines are not records
                if blanked.blank_lines:
                    p.file = blanked
                    return self._check(p, known, temp)
            raise FileLoadError(error)
        add: list[str] = []
        create = False
        notes = list(p.notes)
        renames = dict(p.renames)
        if p.columns is None:  # JSON lines: columns known only now
            add, more = drift_note(f.table, known, parsed.columns, f.rel)
            notes += rename_notes(parsed.renames, parsed.rename_reasons) + more
            renames = parsed.renames
            create = known is None  # with no valid object: the metadata columns alone
            known = (known or []) + add
        if f.records == 0:
            notes.append(Note(NoteKind.NO_RECORDS))
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
            notes,
            renames,
            self.new_file_id(),
            p.first_loaded_at,
        )
        return load, known

    def load_group(self, group: list[Planned]) -> None:
        session = self.session()
        if session.bulk_csv and group[0].file.table.format == "csv":
            group = self._load_csv_bulk(group)
            if not group:
                return
        clock = time.perf_counter()
        table = group[0].file.table
        known = session.columns(table.schema, table.identifier)
        loads: list[tuple[Planned, FileLoad]] = []
        temp: list[str] = []
        for p in group:
            try:
                load, known = self._check(p, known, temp)
                loads.append((p, load))
            except FileLoadError as exc:
                self._fail(p, exc)
        if not loads:
            self._drop_temp(temp)
            return
        try:
            session.write_group([load for _, load in loads])
        except FileLoadError as exc:
            self._drop_temp(temp)
            if len(loads) == 1:
                self._fail(loads[0][0], exc)
            else:
                for p, _ in loads:
                    self.load_group([p])
            return
        self._drop_temp(temp)
        seconds = (time.perf_counter() - clock) / len(loads)  # parse and write, shared out
        for p, load in loads:
            self._loaded(p, load, seconds)

    def _loaded(self, p: Planned, load: FileLoad, seconds: float) -> None:
        status = Outcome.RELOADED if p.replace else Outcome.LOADED
        self._report(
            FileResult(
                p.file,
                status,
                load.rows,
                len(load.rejects),
                seconds,
                load.message,
                tuple(load.notes),
            )
        )

    def _load_csv_bulk(self, group: list[Planned]) -> list[Planned]:
        """Runs of files that share a header and a compression, each in one scan (DuckDB);
        returns the files for the file-by-file path (a NUL byte, a reload, or a run the
        database refused)."""
        runs: list[list[Planned]] = []
        rest: list[Planned] = []
        for p in group:
            if (
                p.file.has_nul
                or p.columns is None
                or p.replace
                or p.file.blank_lines
                or p.file.origin
            ):
                rest.append(p)
            elif runs and (runs[-1][0].columns, runs[-1][0].file.compression) == (
                p.columns,
                p.file.compression,
            ):
                runs[-1].append(p)
            else:
                runs.append([p])
        for run in runs:
            clock = time.perf_counter()
            started = utcnow()
            templates = [  # rows and rejects are filled in by the scan
                FileLoad(
                    file=p.file,
                    columns=list(p.columns or []),
                    add_columns=[],  # added while planning
                    create=False,
                    select_sql="",
                    rows=0,
                    rejects=[],
                    replace=False,
                    batch_id=self.batch_id,
                    started_at=started,
                    notes=list(p.notes) + ([] if p.file.records else [Note(NoteKind.NO_RECORDS)]),
                    renames=dict(p.renames),
                    file_id=self.new_file_id(),
                )
                for p in run
            ]
            try:
                failures = self.session().write_csv_bulk(templates, self.opts.max_quarantine_rate)
            except FileLoadError:
                rest.extend(run)
                continue
            seconds = (time.perf_counter() - clock) / len(run)
            for p, load in zip(run, templates, strict=True):
                if isinstance(failures.get(load.file.rel), FileNeedsOwnScan):
                    rest.append(p)
                elif load.file.rel in failures:
                    self._fail(p, failures[load.file.rel])
                else:
                    self._loaded(p, load, seconds)
        return rest

    def load_table_in_order(self, planned: list[Planned]) -> None:
        for group in groups(planned):
            self.load_group(group)


def moved_tables(
    tables: list[SourceTable], manifest: dict[ManifestKey, ManifestEntry]
) -> list[str]:
    """A notice per source table whose files went to another raw table before (its
    ``identifier`` or schema changed): the new raw table gets every file again."""
    before: dict[str, set[str]] = {}
    for entry in manifest.values():
        before.setdefault(entry.source_table, set()).add(entry.raw_table)
    notices = []
    for t in tables:
        earlier = sorted(before.get(t.label, set()) - {raw_table_of(t)})
        if earlier and raw_table_of(t) not in before.get(t.label, set()):
            notices.append(
                f"{t.label} loaded into {', '.join(earlier)} before and into {raw_table_of(t)} now "
                f"({t.defined_in}): every file loads again into {raw_table_of(t)}; "
                f"{', '.join(earlier)} is left as it is (drop it when nothing reads it)"
            )
    return notices


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
    target = opts.target
    started_at = utcnow()
    warehouse = open_warehouse(target, opts.lock_timeout)
    batch_id = new_batch_id()
    environment = opts.environment if opts.environment is not None else label()
    context = runs.context_for(target.name, opts.project_dir, environment)

    def record_run(ok: bool) -> None:
        run = runs.from_load(batch_id, context, started_at, utcnow(), ok)
        warehouse.record_run(run.run, run.nodes)

    notices: list[str] = []
    skipped: list[FileResult] = []
    unmatched: list[SourceTable] = []
    loader = Loader(warehouse, opts, batch_id, on_file or (lambda r: None))
    try:
        with warehouse.lock(opts.lock_timeout):
            warehouse.prepare({t.schema for t in tables})
            notices += warehouse.upgrade_notices
            notice = warehouse.store_hash_key(production=environment == "prod")
            if notice:
                notices.append(notice)
            manifest = warehouse.manifest()
            loader.number_files_after(manifest)
            plan = plan_files(
                tables,
                opts.data_dir,
                manifest,
                opts.reload,
                opts.verify,
                opts.workers,
                warehouse.own_files(),
                warehouse.one_table_per_path,
            )
            notices += moved_tables(tables, manifest)
            named = [t for t in plan.unmatched if opts.tables]
            if named or (plan.unmatched and len(plan.unmatched) == len(tables)):
                which = named or plan.unmatched
                raise LoaderError(
                    f"no file in {opts.data_dir} matches "
                    + "; ".join(f"{t.path} ({t.label})" for t in which)
                    + " (wrong --data-dir, or wrong meta.elt.path?)"
                )
            warehouse.touch(plan.touched)
            if plan.renamed:
                now = utcnow()
                loader.session().record_rows(
                    [renamed_row(f, why, batch_id, now) for f, why in plan.renamed]
                )
            skipped, unmatched, todo = plan.done, plan.unmatched, plan.todo
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
                futures = [pool.submit(task) for _, task in tasks]
                try:
                    for future in futures:
                        future.result()
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
            loaded = {
                r.file.table
                for r in loader.results
                if r.status in (Outcome.LOADED, Outcome.RELOADED)
            }
            warehouse.analyze([t for t in tables if t in loaded])
            record_run(all(r.status.ok for r in (*skipped, *loader.results)))
    except LoaderError:
        # a run stopped by bad settings is history too, when the warehouse can still take it
        with contextlib.suppress(Exception):
            record_run(False)
        raise
    except Exception as exc:
        lost = warehouse.transient(exc)
        if lost is None:
            raise
        raise lost from None
    finally:
        loader.close()
        warehouse.close()
    return LoadReport(
        warehouse.description,
        batch_id,
        time.perf_counter() - began,
        skipped + loader.results,
        unmatched,
        notices,
    )
