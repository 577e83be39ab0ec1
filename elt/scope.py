"""What a night builds: the models new data reaches, everything, or nothing.

A night's build is scoped by data, not by the clock. The loader's manifest says which raw
tables received files (new, or reloaded) since the last published night; the night builds
and tests the models downstream of those sources (dbt's ``source:<name>+`` selection) and
the operations marts that describe the night, and nothing else. It builds everything when
there is no published night to compare with, when the project itself changed (its models,
macros, seeds, snapshots or tests), and on the all-rows night (every
``ELT_ALL_ROWS_EVERY_DAYS`` days, tests on every row, not only the new loads). It builds
nothing when no file arrived: the night is recorded as such and analysts keep their version.
A catch-up whose files hold at least the engine's rebuild share of raw's rows is rebuilt from
raw (``--full-refresh``): past it, the incremental path costs more than a rebuild.

The mark (what the last published night covered) is the publisher's record, kept by its
store (``elt.publish.control.built``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from elt.errors import LoaderError
from elt.loader.bookkeeping import FileStatus
from elt.loader.config import SourceTable, load_sources
from elt.loader.warehouse import ManifestEntry, raw_table_of
from elt.publish.control import StateStore, built
from elt.warehouse.engines import ENGINES
from elt.warehouse.profile import Target

# what dbt reads to build: a change to any of these can change any model
PROJECT_PARTS = ("models", "macros", "seeds", "snapshots", "tests", "dbt_project.yml")
PROJECT_FILES = (".sql", ".yml", ".yaml", ".csv", ".md", ".py")
# the models that describe the night itself (the loads, the quarantine, the run history): built
# whenever anything is. Not `source:elt.manifest+`: the product history reads the manifest
# too, and a night without product files must not rebuild it and its facts.
NIGHT_MODELS = ("path:models/staging/elt", "path:models/marts/operations")
ALL_ROWS_EVERY_DAYS = 7
ALL_ROWS = (
    "--vars",
    "{test_all_rows: true}",
)  # dbt's tests on every row (macros/utils/test_scope.sql)
ALL_ROWS_TESTS = ("--resource-type", "test", "--resource-type", "unit_test", *ALL_ROWS)
# what a scoped night leaves out: dbt's unit tests check the code, not the data, and a scoped
# night's code is the one the last published night built (the fingerprints are equal), whose
# unit tests passed on its everything night; a project change builds everything, with them
SCOPED_OUT = ("unit_test",)
SCOPE_FILE = "elt_night_scope.json"  # in dbt's target path: the night's scope, for its later steps


def all_rows_every(environ: Mapping[str, str] = os.environ) -> int:
    """Days between all-rows nights (ELT_ALL_ROWS_EVERY_DAYS, 7; 0 turns them off)."""
    text = environ.get("ELT_ALL_ROWS_EVERY_DAYS", "").strip()
    if not text:
        return ALL_ROWS_EVERY_DAYS
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise LoaderError(
            f"ELT_ALL_ROWS_EVERY_DAYS={text!r}: expected a whole number of days (0: never)"
        )
    return days


def rebuild_share(engine: str, environ: Mapping[str, str] = os.environ) -> float:
    """The share of raw's rows a catch-up must reach to be rebuilt (ELT_REBUILD_SHARE, or the
    engine's, ``elt.warehouse.engines``; 0 never rebuilds): past it, the incremental path
    costs more than a rebuild."""
    text = environ.get("ELT_REBUILD_SHARE", "").strip()
    if not text:
        return ENGINES[engine].rebuild_share
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise LoaderError(
            f"ELT_REBUILD_SHARE={text!r}: expected a share of raw's rows between 0 and 1 "
            "(0: never rebuild)"
        )
    return share


def project_fingerprint(project_dir: Path) -> str:
    """sha256 over what dbt builds from (and dbt's version): equal fingerprints, equal models."""
    digest = hashlib.sha256(f"dbt-core {version('dbt-core')}\n".encode())
    for part in PROJECT_PARTS:
        root = project_dir / part
        files = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for path in files:
            if path.is_file() and path.suffix in PROJECT_FILES:
                digest.update(f"{path.relative_to(project_dir).as_posix()}\n".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


@dataclasses.dataclass(frozen=True)
class Mark:
    """What a published night covered: files loaded up to ``loaded_through`` (ISO, UTC), the
    project as fingerprinted, and when the last all-rows night was."""

    loaded_through: str | None
    project: str
    all_rows_at: str | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Mark | None:
        if not data or "project" not in data:
            return None
        return cls(data.get("loaded_through"), str(data["project"]), data.get("all_rows_at"))


@dataclasses.dataclass(frozen=True)
class Scope:
    """One night's build: ``sources`` None is everything, empty is nothing."""

    sources: tuple[str, ...] | None  # "shop.orders" (dbt source.table) that received files
    files: int  # files loaded since the mark
    reason: str
    mark: Mark  # what this night covers, once published
    all_rows: bool = False
    full_refresh: bool = False  # a large catch-up: every model rebuilt from raw

    @property
    def nothing_new(self) -> bool:
        return self.sources == ()

    def selection(self) -> tuple[str, ...]:
        """dbt's selectors (empty: everything)."""
        if not self.sources:
            return ()
        return (*(f"source:{s}+" for s in sorted(self.sources)), *NIGHT_MODELS)

    def excluded_types(self) -> tuple[str, ...]:
        """dbt's resource types the night leaves out (``--exclude-resource-type``)."""
        return SCOPED_OUT if self.sources else ()

    def dbt_args(self) -> tuple[str, ...]:
        """The arguments of the night's `dbt build`."""
        selected = self.selection()
        args: tuple[str, ...] = ("--select", *selected) if selected else ()
        for kind in self.excluded_types():
            args += ("--exclude-resource-type", kind)
        if self.full_refresh:
            args += ("--full-refresh",)
        if self.all_rows:
            args += ALL_ROWS
        return args

    def describe(self) -> str:
        return f"scope: {self.outcome()}"

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Scope:
        sources = data.get("sources")
        mark = Mark.from_json(data.get("mark"))
        if mark is None:
            raise LoaderError("a night's scope without its mark")
        return cls(
            tuple(sources) if sources is not None else None,
            int(data.get("files") or 0),
            str(data.get("reason") or ""),
            mark,
            bool(data.get("all_rows")),
            bool(data.get("full_refresh")),
        )

    def save(self, path: Path) -> Path:
        """For the night's later steps (the DAG's all-rows tests and its publication)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_json(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, path: Path) -> Scope:
        try:
            return cls.from_json(json.loads(path.read_text()))
        except FileNotFoundError:
            raise LoaderError(f"no night's scope at {path}: run `elt scope` first") from None
        except (ValueError, TypeError, AttributeError) as exc:
            raise LoaderError(f"{path} is not a night's scope: {exc}") from None

    def outcome(self) -> str:
        return f"nothing new: {self.reason}" if self.nothing_new else self.reason


def _newest(entries: Iterable[ManifestEntry]) -> dt.datetime | None:
    times = [e.finished_at for e in entries if e.finished_at is not None]
    return max(times) if times else None


def _iso(at: dt.datetime | None) -> str | None:
    return at.astimezone(dt.UTC).isoformat() if at else None


def _days_since(iso: str | None, now: dt.datetime) -> float | None:
    if not iso:
        return None
    return (now - dt.datetime.fromisoformat(iso)).total_seconds() / 86400


def decide(
    entries: Iterable[ManifestEntry],
    tables: list[SourceTable],
    last: Mark | None,
    project: str,
    *,
    every_days: int = ALL_ROWS_EVERY_DAYS,
    rebuild_at: float = 0.0,
    now: dt.datetime | None = None,
) -> Scope:
    """The night's scope from the manifest's files, the declared sources and the last
    published night's mark. ``rebuild_at``: the share of raw's rows at which files since the
    mark are a catch-up better rebuilt (0: never)."""
    now = now or dt.datetime.now(dt.UTC)
    loaded = [e for e in entries if e.status == FileStatus.LOADED]
    newest = _newest(loaded)
    since = dt.datetime.fromisoformat(last.loaded_through) if last and last.loaded_through else None
    fresh = [e for e in loaded if e.finished_at and (since is None or e.finished_at > since)]
    by_raw = {raw_table_of(t): t for t in tables}
    reached = sorted(
        {
            f"{by_raw[e.raw_table].source}.{by_raw[e.raw_table].name}"
            for e in fresh
            if e.raw_table in by_raw
        }
    )
    age = _days_since(last.all_rows_at if last else None, now)
    all_rows = every_days > 0 and (age is None or age >= every_days)
    mark = Mark(
        _iso(newest),
        project,
        now.isoformat(timespec="seconds") if all_rows else (last.all_rows_at if last else None),
    )
    files = f"{len(fresh)} file{'s' if len(fresh) != 1 else ''}"
    if last is None:
        return Scope(
            None, len(fresh), "everything: no published night is on record", mark, all_rows
        )
    share = sum(e.rows for e in fresh) / max(1, sum(e.rows for e in loaded))
    if rebuild_at > 0 and share >= rebuild_at:
        return Scope(
            None,
            len(fresh),
            f"everything, rebuilt from raw (--full-refresh, every row tested): the {files} "
            f"since the last published night hold {share:.0%} of raw's rows, at least "
            f"ELT_REBUILD_SHARE ({rebuild_at:.0%}): a rebuild costs less than catching up",
            dataclasses.replace(mark, all_rows_at=now.isoformat(timespec="seconds")),
            True,
            True,
        )
    if last.project != project:
        return Scope(
            None,
            len(fresh),
            "everything: the project changed since the last published night",
            mark,
            all_rows,
        )
    if all_rows:
        when = f"{age:.0f} days ago" if age is not None else "never"
        return Scope(
            None,
            len(fresh),
            f"everything, every row tested: the all-rows night (every {every_days} days; the last was {when})",
            mark,
            True,
        )
    if not reached:
        return Scope(
            (),
            0,
            f"no file loaded since the last published night (its newest load finished "
            f"{(last.loaded_through or 'never')[:19]})",
            mark,
        )
    return Scope(
        tuple(reached),
        len(fresh),
        f"{files} loaded for {', '.join(reached)}: what they reach",
        mark,
    )


def night_scope(
    entries: Iterable[ManifestEntry],
    project_dir: Path,
    last: Mapping[str, Any] | None,
    engine: str,
) -> Scope:
    """Tonight's scope: the loader's manifest, the project's sources and fingerprint, the mark
    the publisher kept (``elt.publish.control.built``), the engine's rebuild share."""
    return decide(
        entries,
        load_sources(project_dir),
        Mark.from_json(last),
        project_fingerprint(project_dir),
        every_days=all_rows_every(),
        rebuild_at=rebuild_share(engine),
    )


def loaded_files(loader: Target, lock_timeout: float) -> list[ManifestEntry]:
    """The loader's manifest, as the loader's login sees it."""
    from elt.loader.run import open_warehouse

    warehouse = open_warehouse(loader, lock_timeout)
    try:
        return list(warehouse.manifest().values())
    finally:
        warehouse.close()


def tonight(store: StateStore, loader: Target, project_dir: Path, lock_timeout: float) -> Scope:
    """Tonight's scope, read from the warehouse: the manifest as the loader's login sees it,
    the mark as the publisher's store keeps it."""
    entries = loaded_files(loader, lock_timeout)
    return night_scope(entries, project_dir, built(store), loader.type)


def build_mark(
    entries: Iterable[ManifestEntry],
    project_dir: Path,
    results: Mapping[str, Any],
    last: Mapping[str, Any] | None,
    now: dt.datetime | None = None,
) -> Mark:
    """The mark of a complete build published by hand (`elt build`, then `elt publish`): the
    files loaded before dbt started (a load finishing during the build is built again by
    the next night), the project as it is, and an all-rows night when it tested every row
    (a --full-refresh or var test_all_rows). Without it the next night would take every
    file since the last night's mark for a backlog."""
    now = now or dt.datetime.now(dt.UTC)
    meta, args = results.get("metadata") or {}, results.get("args") or {}
    started = meta.get("invocation_started_at") or meta.get("generated_at")
    began = dt.datetime.fromisoformat(str(started).replace("Z", "+00:00")) if started else now
    covered = [
        e
        for e in entries
        if e.status == FileStatus.LOADED and e.finished_at is not None and e.finished_at <= began
    ]
    given = args.get("vars")
    every_row = bool(args.get("full_refresh")) or (
        isinstance(given, Mapping) and given.get("test_all_rows") is True
    )
    before = Mark.from_json(last)
    return Mark(
        _iso(_newest(covered)),
        project_fingerprint(project_dir),
        now.isoformat(timespec="seconds")
        if every_row
        else (before.all_rows_at if before else None),
    )
