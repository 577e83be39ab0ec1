"""Published versions on Spark: one database per version, analysts read views over one.

    <prefix>marts.fct_orders                 the build (dbt writes it; Parquet)
    <prefix>analytics__v000042.fct_orders    a version: a copy of the build's marts, its own
                                             Parquet files (ELT_SPARK_DIR/warehouse/<db>.db/)
    <prefix>analytics.fct_orders             what analysts read: a view over the current version
    ELT_SPARK_DIR/<prefix>published.versions/ the versions' sidecars and the publisher's state

The Hive metastore has no transactions, so the order of the steps is the guarantee: a
version's tables are written whole before its sidecar, and the sidecar before any view
points at it; a killed publish leaves a database no sidecar vouches for, dropped by the next.
Switching replaces the analysts' views one after another (each ``create or replace view`` is
atomic; the views of one switch are replaced within milliseconds of each other, and a query
that started before reads the files of the version it started on, which stay until pruned).
Which version is current is the ``published`` record, written after the last view.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from elt.environment import Environment
from elt.errors import LoaderError
from elt.publish import trail
from elt.publish.audit import Audit
from elt.publish.diff import double_quoted
from elt.publish.records import FileRecords
from elt.publish.spark_warehouse import SparkWarehouse
from elt.publish.versions import Pair, Sides, Version
from elt.warehouse.spark_catalog import Catalog, bq, published_views_path

# <prefix>publish.published_loads (elt.publish.versions.PUBLISHED_LOADS_COLUMNS) in Spark's types
PUBLISHED_LOADS_COLUMNS = "version int, last_batch_id string, published_at timestamp"
# the record of which version the analysts' views point at (written after the last view)
CURRENT = "published"


def records(spark_dir: Path, env: Environment, lock_timeout: float = 60.0) -> FileRecords:
    return FileRecords(spark_dir / f"{env.prefix}published.versions", lock_timeout)


def current_version(spark_dir: Path, env: Environment) -> int | None:
    """The version analysts' views point at (None: nothing is published)."""
    return _current(records(spark_dir, env))


def _current(kept: FileRecords) -> int | None:
    number = (kept.get_state(CURRENT) or {}).get("version")
    return int(number) if number is not None else None


class SparkStore:
    def __init__(
        self,
        open_catalog: Callable[[], Catalog],
        env: Environment,
        spark_dir: Path,
        lock_timeout: float = 60.0,
    ) -> None:
        self.env = env
        self.records = records(spark_dir, env, lock_timeout)
        self._open_catalog = open_catalog
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        """Spark, started on first use (listing versions and the publisher's state need none)."""
        if self._catalog is None:
            self._catalog = self._open_catalog()
        return self._catalog

    def database(self, number: int) -> str:
        return f"{self.env.published_schema}__v{number:06d}"

    def _tables(self, database: str) -> list[str]:
        if not self.catalog.sql(f"show databases like '{database}'"):
            return []
        listed = self.catalog.sql(f"show tables in {bq(database)}")
        return sorted(str(name) for _, name, temporary in listed if not temporary)

    # --- reading ------------------------------------------------------------------------

    def versions(self) -> list[Version]:
        current = _current(self.records)
        found = self.records.sidecars()
        for version in found:
            version.is_current = version.number == current
        return found

    # --- writing ------------------------------------------------------------------------

    def publish(self, audit: Audit, version: Version) -> Version:
        with self.records.locked():
            known = self.versions()
            same = [v for v in known if v.invocation_id == audit.invocation_id]
            if same:
                return same[-1] if same[-1].is_current else self._switch(same[-1])
            version.number = max((v.number for v in known), default=0) + 1
            version.analyst_marts = [m.name for m in audit.marts if m.analyst_access]
            began = time.monotonic()
            version.rows = self._copy(audit, self.database(version.number))
            copied = time.monotonic()
            version.seconds = {"copy": round(copied - began, 3)}
            self.records.write_sidecar(version)
            self._switch(version)
            version.seconds["switch"] = round(time.monotonic() - copied, 3)
            self.records.write_sidecar(version)
            self._mark_loads(audit, version)
            return version

    def _copy(self, audit: Audit, database: str) -> dict[str, int]:
        """The build's marts into a new database (a leftover of a killed publish replaced)."""
        c = self.catalog
        c.sql(f"drop database if exists {bq(database)} cascade")
        c.sql(f"create database {bq(database)}")
        rows = {}
        for mart in audit.marts:
            copy = f"{bq(database)}.{bq(mart.name)}"
            c.sql(
                f"create table {copy} using parquet as "
                f"select * from {bq(mart.schema)}.{bq(mart.name)}"
            )
            rows[mart.name] = int(c.sql(f"select count(*) from {copy}")[0][0])
        return rows

    def _mark_loads(self, audit: Audit, version: Version) -> None:
        """In the build: the last load this version holds (tests of the next builds cover
        every row loaded since; macros/utils/test_scope.sql)."""
        meta = bq(self.env.schema("publish"))
        loads = ".".join(bq(p) for p in audit.loads)
        self.catalog.sql(f"create database if not exists {meta}")
        self.catalog.sql(
            f"create table if not exists {meta}.published_loads ({PUBLISHED_LOADS_COLUMNS}) "
            "using parquet"
        )
        self.catalog.sql(
            f"insert into {meta}.published_loads select {version.number}, "
            f"(select max(batch_id) from {loads}), current_timestamp()"
        )

    def append_trail(self, version: Version, figures: list[trail.Figure]) -> int:
        """The audit trail's rows of this publication (elt.publish.trail): appended to a
        Parquet table, which needs no MERGE."""
        meta = bq(self.env.schema("publish"))
        relation = f"{meta}.{trail.TABLE}"
        self.catalog.sql(f"create database if not exists {meta}")
        self.catalog.sql(trail.create_sql(relation, trail.SPARK))
        found = trail.changes(figures, self.catalog.sql(trail.latest_sql(relation)))
        appended = trail.rows(version.number, version.published_at, found)
        if appended:
            self.catalog.sql(
                f"insert into {relation} values {trail.values_sql(appended, trail.SPARK)}"
            )
        return len(appended)

    def arrow(self, version: Version) -> Iterator[tuple[str, pa.Table]]:
        """Each mart of a kept version as Arrow, read from its Parquet files (no Spark job)."""
        import pyarrow.parquet as pq

        source = self.database(version.number)
        for table in self._tables(source):
            yield table, pq.read_table(self._location(f"{bq(source)}.{bq(table)}"))

    def switch(self, number: int) -> Version:
        with self.records.locked():
            version = next((v for v in self.versions() if v.number == number), None)
            if version is None:
                raise LoaderError(f"version {number} is not kept (`elt versions` lists them)")
            return self._switch(version)

    def _switch(self, version: Version) -> Version:
        """Every view of the analysts' database over the version's tables, then the record."""
        source = self.database(version.number)
        tables = self._tables(source)
        if not tables:
            raise LoaderError(f"version {version.number}: database {source} is gone or empty")
        published = bq(self.env.published_schema)
        c = self.catalog
        c.sql(
            f"create database if not exists {published} comment "
            "'what analysts read: views over the current published version (elt versions)'"
        )
        for table in tables:
            c.sql(
                f"create or replace view {published}.{bq(table)} as "
                f"select * from {bq(source)}.{bq(table)}"
            )
        for _, view, *_ in c.sql(f"show views in {published}"):
            if view not in tables:
                c.sql(f"drop view if exists {published}.{bq(view)}")
        self._duckdb_views(source, tables)
        self.records.put_state(CURRENT, {"version": version.number, "database": source})
        version.is_current = True
        return version

    def _duckdb_views(self, source: str, tables: list[str]) -> None:
        """The current version for DuckDB readers (MetricFlow, which has no Spark adapter;
        BI tools without a Thrift driver): a DuckDB file of views over the version's Parquet
        files, in the published schema, replaced whole."""
        import duckdb

        path = published_views_path(self.env.prefix)
        partial = path.with_name(path.name + ".partial")
        partial.unlink(missing_ok=True)
        schema = double_quoted(self.env.published_schema)
        con = duckdb.connect(str(partial))
        try:
            con.execute(f"create schema {schema}")
            for table in tables:
                folder = self._location(f"{bq(source)}.{bq(table)}")
                files = "'" + str(folder / "*.parquet").replace("'", "''") + "'"
                con.execute(
                    f"create view {schema}.{double_quoted(table)} as "
                    f"select * from read_parquet({files})"
                )
        finally:
            con.close()
        os.replace(partial, path)

    def _location(self, table: str) -> Path:
        for name, value, *_ in self.catalog.sql(f"describe formatted {table}"):
            if str(name).strip() == "Location":
                return Path(str(value).removeprefix("file:"))
        raise LoaderError(f"Spark names no location for {table}")

    def prune(self, keep: int, protect: frozenset[int] = frozenset()) -> list[int]:
        """Drop all but the newest ``keep`` versions (never the current one, nor those of
        ``protect``: the held version and the last known good)."""
        with self.records.locked():
            known = self.versions()
            newest = {v.number for v in known[-keep:]}
            dropped = []
            for v in known:
                if v.number not in newest and not v.is_current and v.number not in protect:
                    self.catalog.sql(
                        f"drop database if exists {bq(self.database(v.number))} cascade"
                    )
                    self.records.sidecar(v.number).unlink(missing_ok=True)
                    dropped.append(v.number)
            return dropped

    def drop(self) -> list[str]:
        """Every database of this environment (build area, versions, published), its records."""
        if not self.env.prefix:
            raise LoaderError("the production environment is never dropped")
        dropped = []
        for name, *_ in self.catalog.sql("show databases"):
            if str(name).startswith(self.env.prefix):
                self.catalog.sql(f"drop database {bq(str(name))} cascade")
                dropped.append(str(name))
        if self.records.folder.is_dir():
            shutil.rmtree(self.records.folder)
            dropped.append(str(self.records.folder))
        views = published_views_path(self.env.prefix)
        if views.exists():
            views.unlink()
            dropped.append(str(views))
        return dropped

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    # --- the audit's diff: the build's marts and a version's database, in one catalog -------

    @contextlib.contextmanager
    def sides(self, audit: Audit, against: Version | None) -> Iterator[Sides]:
        schemas = {m.name: m.schema for m in audit.marts}
        source = self.database(against.number) if against is not None else ""
        kept = set(self._tables(source)) if against is not None else set()
        yield Sides(
            warehouse=SparkWarehouse(self.catalog),
            candidate=lambda name: f"{bq(schemas[name])}.{bq(name)}",
            published=lambda name: f"{bq(source)}.{bq(name)}" if name in kept else None,
            loads=".".join(bq(p) for p in audit.loads),
            published_loads=f"{bq(self.env.schema('publish'))}.published_loads",
        )

    @contextlib.contextmanager
    def version_pair(self, old: int, new: int) -> Iterator[Pair]:
        """Two kept versions' databases, for `elt diff`."""
        relations = []
        for number in (old, new):
            database = self.database(number)
            relations.append({t: f"{bq(database)}.{bq(t)}" for t in self._tables(database)})
        yield Pair(SparkWarehouse(self.catalog), relations[0], relations[1])

    # --- the publisher's records (elt.publish.control) --------------------------------------

    def get_state(self, key: str) -> Any:
        return self.records.get_state(key)

    def put_state(self, key: str, value: Any) -> None:
        self.records.put_state(key, value)
