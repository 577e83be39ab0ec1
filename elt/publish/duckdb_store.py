"""Published versions on DuckDB: one read-only file per version, analysts open a hard link.

    warehouse/warehouse.duckdb          the build (dbt and the loader write it)
    warehouse/published.duckdb          what analysts open (read-only): a hard link to ...
    warehouse/published.versions/v000042.duckdb (+ .json)   ... one of the kept versions

(dev and ci publish <prefix>published.duckdb beside it.)
A version file is written whole, beside the others, then renamed into place; switching
analysts to it is one rename of a new hard link over ``published.duckdb`` (atomic on POSIX).
An analyst who has the old file open keeps reading it, whole, until they reconnect; nobody
ever opens the build file but dbt and the loader, so analysts and the build never wait for
each other. Which version is current is read from the file system (the inode the published
name points at), so there is no second record to drift.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from elt.environment import Environment
from elt.errors import LoaderError, TransientError
from elt.publish import trail
from elt.publish.audit import Audit
from elt.publish.diff import double_quoted
from elt.publish.records import FileRecords
from elt.publish.versions import PUBLISHED_LOADS_COLUMNS, Pair, Sides, Version
from elt.warehouse.engines import published_path


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBStore:
    def __init__(self, build: Path, env: Environment, lock_timeout: float = 60.0) -> None:
        self.build = build
        self.env = env
        self.published = published_path(build, env)
        self.folder = self.published.with_name(self.published.stem + ".versions")
        self.records = FileRecords(self.folder, lock_timeout)

    def locked(self) -> contextlib.AbstractContextManager[None]:
        return self.records.locked()

    # --- reading ------------------------------------------------------------------------

    def _file(self, number: int) -> Path:
        return self.folder / f"v{number:06d}.duckdb"

    def versions(self) -> list[Version]:
        current = self.published.stat().st_ino if self.published.exists() else None
        found = []
        for version in self.records.sidecars():
            data = self._file(version.number)
            if not data.exists():
                continue
            version.is_current = data.stat().st_ino == current
            found.append(version)
        return found

    # --- writing ------------------------------------------------------------------------

    def publish(self, audit: Audit, version: Version) -> Version:
        with self.locked():
            known = self.versions()
            same = [v for v in known if v.invocation_id == audit.invocation_id]
            if same:
                return same[-1] if same[-1].is_current else self._switch(same[-1])
            version.number = max((v.number for v in known), default=0) + 1
            began = time.monotonic()
            version.rows = self._write(audit, self._file(version.number))
            copied = time.monotonic()
            self._record(version, copy=copied - began)
            self._switch(version)
            self._record(version, copy=copied - began, switch=time.monotonic() - copied)
            self._mark_loads(audit, version)
            return version

    @contextlib.contextmanager
    def _build_file(self, doing: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """The build file, written: the publisher's records kept in it (``doing`` says which)."""
        try:
            con = duckdb.connect(str(self.build))
        except duckdb.IOException as exc:
            raise TransientError(
                f"could not {doing} in {self.build} (dbt or the loader is writing it?): "
                f"{' '.join(str(exc).split())}"
            ) from None
        try:
            yield con
        finally:
            con.close()

    def _mark_loads(self, audit: Audit, version: Version) -> None:
        """In the build: the last load this version holds (tests of the next builds cover
        every row loaded since; macros/utils/test_scope.sql)."""
        with self._build_file(f"record the loads of {version.label}, published,") as con:
            record_published_loads(con, self.env, audit, version.number)

    def append_trail(self, version: Version, figures: list[trail.Figure]) -> int:
        """The audit trail's rows of this publication (elt.publish.trail), in the build."""
        relation = f"{_quote(self.env.schema('publish'))}.{trail.TABLE}"
        with self._build_file(f"append {version.label} to the audit trail") as con:
            con.execute(f"create schema if not exists {_quote(self.env.schema('publish'))}")
            con.execute(trail.create_sql(relation, trail.DUCKDB))
            found = trail.changes(figures, con.execute(trail.latest_sql(relation)).fetchall())
            appended = trail.rows(version.number, version.published_at, found)
            if appended:
                con.executemany(f"insert into {relation} values (?, ?, ?, ?, ?, ?, ?)", appended)
        return len(appended)

    def arrow(self, version: Version) -> Iterator[tuple[str, pa.Table]]:
        """Each mart of a kept version as Arrow, from its file (read-only)."""
        con = duckdb.connect(str(self._file(version.number)), read_only=True)
        try:
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?"
                " order by 1",
                [self.env.published_schema],
            ).fetchall():
                relation = f"{_quote(self.env.published_schema)}.{_quote(name)}"
                yield name, con.sql(f"select * from {relation}").to_arrow_table()
        finally:
            con.close()

    def _record(self, version: Version, **seconds: float) -> None:
        version.seconds = {k: round(v, 3) for k, v in seconds.items()}
        self.records.write_sidecar(version)

    def _write(self, audit: Audit, final: Path) -> dict[str, int]:
        """Copy every mart of the build into a new file (its own temporary name until whole)."""
        partial = final.with_name(final.name + ".partial")
        partial.unlink(missing_ok=True)
        schema = _quote(self.env.published_schema)
        try:
            con = duckdb.connect(str(partial))
        except duckdb.Error as exc:
            raise LoaderError(f"cannot create {partial}: {exc}") from None
        rows: dict[str, int] = {}
        try:
            try:
                con.execute(f"attach {_sql_text(str(self.build))} as build (read_only)")
            except duckdb.IOException as exc:
                raise TransientError(
                    f"cannot open the build {self.build} to publish it (dbt or the loader is "
                    f"writing it?): {' '.join(str(exc).split())}"
                ) from None
            con.execute(f"create schema {schema}")
            for mart in audit.marts:
                table = _quote(mart.name)
                con.execute(
                    f"create table {schema}.{table} as "
                    f"select * from build.{_quote(mart.schema)}.{table}"
                )
                result = con.execute(f"select count(*) from {schema}.{table}").fetchone()
                rows[mart.name] = int(result[0]) if result else 0
            con.execute("detach build")
            con.execute("checkpoint")
        finally:
            con.close()
        partial.with_name(partial.name + ".wal").unlink(missing_ok=True)
        os.replace(partial, final)
        final.chmod(0o444)  # a version never changes (analysts open it read-only)
        return rows

    def switch(self, number: int) -> Version:
        with self.locked():
            version = next((v for v in self.versions() if v.number == number), None)
            if version is None:
                raise LoaderError(f"version {number} is not kept in {self.folder}")
            return self._switch(version)

    def _switch(self, version: Version) -> Version:
        """Point the published name at the version: a new hard link renamed over it."""
        link = self.published.with_name(self.published.name + ".switching")
        link.unlink(missing_ok=True)
        os.link(self._file(version.number), link)
        os.replace(link, self.published)
        _fsync_dir(self.published.parent)
        version.is_current = True
        return version

    def prune(self, keep: int, protect: frozenset[int] = frozenset()) -> list[int]:
        """Delete all but the newest ``keep`` versions (never the current one, nor those of
        ``protect``: the held version and the last known good)."""
        with self.locked():
            known = self.versions()
            newest = {v.number for v in known[-keep:]}
            dropped = []
            for v in known:
                if v.number not in newest and not v.is_current and v.number not in protect:
                    self._file(v.number).unlink()
                    self.records.sidecar(v.number).unlink(missing_ok=True)
                    dropped.append(v.number)
            return dropped

    def drop(self) -> list[str]:
        """Everything of this environment: its schemas in the build, its published files."""
        dropped = []
        # without a build file there are no schemas (connecting would create an empty one)
        if self.build.exists():
            con = duckdb.connect(str(self.build))
            try:
                for (schema,) in con.execute(
                    "select schema_name from information_schema.schemata "
                    "where catalog_name = current_database() and starts_with(schema_name, ?)",
                    [self.env.prefix],
                ).fetchall():
                    con.execute(f"drop schema {_quote(schema)} cascade")
                    dropped.append(schema)
            finally:
                con.close()
        for path in (self.published, self.folder):
            if path.is_dir():
                shutil.rmtree(path)
                dropped.append(str(path))
            elif path.exists():
                path.unlink()
                dropped.append(str(path))
        return dropped

    def close(self) -> None:
        pass

    # --- the audit's diff: the build and a version file attached to one connection ----------

    @contextlib.contextmanager
    def sides(self, audit: Audit, against: Version | None) -> Iterator[Sides]:
        con = duckdb.connect()
        # the build under dbt's name for it, so compiled tests run as they are
        build = _quote(audit.marts[0].database if audit.marts else "build")
        try:
            try:
                con.execute(f"attach {_sql_text(str(self.build))} as {build} (read_only)")
                if against is not None:
                    con.execute(
                        f"attach {_sql_text(str(self._file(against.number)))}"
                        " as elt_published (read_only)"
                    )
            except duckdb.IOException as exc:
                raise TransientError(
                    f"cannot open the build {self.build} to audit it (dbt or the loader is "
                    f"writing it?): {' '.join(str(exc).split())}"
                ) from None
            schemas = {m.name: m.schema for m in audit.marts}
            published = _quote(self.env.published_schema)
            kept = (
                {
                    r[0]
                    for r in con.execute(
                        "select table_name from information_schema.tables"
                        " where table_catalog = 'elt_published' and table_schema = ?",
                        [self.env.published_schema],
                    ).fetchall()
                }
                if against is not None
                else set()
            )
            yield Sides(
                warehouse=DuckDBWarehouse(con),
                candidate=lambda name: f"{build}.{_quote(schemas[name])}.{_quote(name)}",
                published=lambda name: (
                    f"elt_published.{published}.{_quote(name)}" if name in kept else None
                ),
                loads=f"{build}." + ".".join(_quote(p) for p in audit.loads),
                published_loads=f"{build}.{_quote(self.env.schema('publish'))}.published_loads",
            )
        finally:
            con.close()

    @contextlib.contextmanager
    def version_pair(self, old: int, new: int) -> Iterator[Pair]:
        """Two kept versions on one connection, for `elt diff`."""
        con = duckdb.connect()
        schema = _quote(self.env.published_schema)
        try:
            tables = {}
            for side, number in (("old", old), ("new", new)):
                con.execute(f"attach {_sql_text(str(self._file(number)))} as {side} (read_only)")
                tables[side] = {
                    r[0]
                    for r in con.execute(
                        "select table_name from information_schema.tables"
                        " where table_catalog = ? and table_schema = ?",
                        [side, self.env.published_schema],
                    ).fetchall()
                }
            yield Pair(
                DuckDBWarehouse(con),
                {t: f"old.{schema}.{_quote(t)}" for t in tables["old"]},
                {t: f"new.{schema}.{_quote(t)}" for t in tables["new"]},
            )
        finally:
            con.close()

    # --- the publisher's records (elt.publish.control) ----------------------------------

    def get_state(self, key: str) -> Any:
        return self.records.get_state(key)

    def put_state(self, key: str, value: Any) -> None:
        self.records.put_state(key, value)


class DuckDBWarehouse:
    quote = staticmethod(double_quoted)

    @staticmethod
    def join_key(alias: str, column: str) -> str | None:
        """A 64-bit hash of the key: joins 40% faster than a text key. Two keys of one hash
        (about 1e-7 at a million rows) would be compared as one row."""
        return f"hash({alias}.{double_quoted(column)})"

    @staticmethod
    def collect(expression: str) -> str:
        return f"list({expression})"

    @staticmethod
    def row_hash(alias: str, columns: Sequence[str]) -> str:
        """DuckDB's 64-bit hash of the columns (nulls included)."""
        if not columns:
            return "0"
        return "hash(" + ", ".join(f"{alias}.{double_quoted(c)}" for c in columns) + ")"

    text_type = "varchar"

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        return self.con.execute(statement).fetchall()

    def columns(self, relation: str) -> list[str]:
        description = self.con.execute(f"select * from {relation} limit 0").description or []
        return [str(d[0]) for d in description]


def record_published_loads(
    con: duckdb.DuckDBPyConnection, env: Environment, audit: Audit, number: int
) -> None:
    meta = _quote(env.schema("publish"))
    loads = ".".join(_quote(p) for p in audit.loads)
    con.execute(f"create schema if not exists {meta}")
    con.execute(f"create table if not exists {meta}.published_loads ({PUBLISHED_LOADS_COLUMNS})")
    con.execute(
        f"insert into {meta}.published_loads select ?, (select max(batch_id) from {loads}), now()",
        [number],
    )


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
