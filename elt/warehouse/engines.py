"""What differs between the three engines, each in one place per concern the house shares.

A target's ``type`` (duckdb, postgres, spark) is branched on here and nowhere else for: where
analysts read the published marts (a DuckDB file of its own, a PostgreSQL login of their own,
a database of views on Spark), opening that published copy read-only, and whether the loader has ever
landed anything. The parts of the house with an engine-specific implementation of their own
(the loader's warehouse, the version store, the page's reader, backup) pick it with
:func:`choose`, which names the supported engines in one error when the target's is not one.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import os
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import duckdb

from elt.environment import Environment
from elt.errors import LoaderError
from elt.warehouse.profile import Target, load_target

T = TypeVar("T")

# the analysts' PostgreSQL role (profiles.yml's `<target>_published` logs in as it)
ANALYST_ROLE_VARIABLE = "ELT_PG_ANALYST_USER"
DEFAULT_ANALYST_ROLE = "elt_analyst"
# DuckDB: the published file, when it is not beside the build file
PUBLISHED_FILE_VARIABLE = "ELT_DUCKDB_PUBLISHED_PATH"
# ... which profiles.yml's `<target>_published` attaches under this name
PUBLISHED_CATALOG = "published"
# Spark: the DuckDB file of views over the current version, for `spark_published`
SPARK_VIEWS_VARIABLE = "ELT_SPARK_PUBLISHED_VIEWS"

Columns = list[str]
Rows = list[tuple[Any, ...]]


def analyst_role(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(ANALYST_ROLE_VARIABLE, DEFAULT_ANALYST_ROLE)


def published_path(build: Path, env: Environment) -> Path:
    """ELT_DUCKDB_PUBLISHED_PATH, or <prefix>published.duckdb beside the build file (each
    environment publishes a file of its own: published.duckdb in production)."""
    configured = os.environ.get(PUBLISHED_FILE_VARIABLE)
    return Path(configured) if configured else build.with_name(f"{env.prefix}published.duckdb")


def published_login(target: Target) -> str:
    """The profile's target analysts log in with: ``<target>_published``."""
    return f"{target.name}_published"


def choose(target: Target, implementations: Mapping[str, Callable[[], T]], doing: str) -> T:
    """The implementation of ``doing`` for the target's engine, built; a one-line error naming
    the engines that have one when the target's has none."""
    make = implementations.get(target.type)
    if make is None:
        supported = sorted(implementations)
        expected = supported[0] if len(supported) == 1 else "one of " + ", ".join(supported)
        raise LoaderError(f"{doing}: target {target.name!r} is {target.type}, not {expected}")
    return make()


@dataclasses.dataclass(frozen=True)
class Engine(abc.ABC):
    """One target's engine, for the concerns every engine answers."""

    target: Target
    kind: ClassVar[str]
    # the share of raw's rows past which a catch-up is rebuilt rather than processed
    # incrementally (elt.scope; measured at scale 1, docs/benchmarks.md: an 88-day catch-up,
    # 49% of raw, cost 0.64 of a rebuild on DuckDB, 1.54 on PostgreSQL)
    rebuild_share: ClassVar[float] = 0.3
    # why MetricFlow cannot query the build area on this engine (None: it can)
    no_metrics_on_build: ClassVar[str | None] = None

    @abc.abstractmethod
    def loaded(self, table: str) -> bool | None:
        """Whether the loader's ``table`` (schema.name) exists; None when it cannot be told
        (the file is held by another process)."""

    def not_loaded(self, table: str) -> str | None:
        """Why nothing can be built yet (the loader's ``table`` is missing), or None."""
        if self.loaded(table) is False:
            return f"nothing is loaded into {self.target.describe()} yet (no {table})"
        return None

    def unpublished(self, env: Environment) -> str | None:
        """Why analysts cannot read this target's published marts yet, or None."""
        return None

    @abc.abstractmethod
    def namespace(self) -> str:
        """The OpenLineage namespace of the target's datasets (scheme://authority)."""

    def published_heading(self, env: Environment) -> str:
        return (
            f"Done. Published for analysts ({self.target.name}, environment {env.label}): "
            f"schema {env.published_schema}"
        )

    @abc.abstractmethod
    def where_analysts_read(self, env: Environment, sample: str, python: str) -> list[str]:
        """What `make run` ends with: where the marts analysts read are and a first query of
        ``sample`` (a query with a ``{schema}`` to fill) they can paste; ``python`` is the
        interpreter as they would type it."""

    def published_login_sees(self, env: Environment) -> tuple[str | None, dict[str, str]]:
        """The catalog dbt's ``<target>_published`` login finds the published marts in (None:
        its own database) and the variables that login needs set."""
        return None, {}

    @contextmanager
    @abc.abstractmethod
    def read_published(
        self, env: Environment, project_dir: Path, profiles_dir: Path | None, application: str
    ) -> Iterator[Callable[[str], tuple[Columns, Rows]]]:
        """A read-only query function on the published marts, as analysts see them."""
        yield lambda sql: ([], [])  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class DuckDBEngine(Engine):
    kind: ClassVar[str] = "duckdb"
    rebuild_share: ClassVar[float] = 0.75

    @property
    def build_file(self) -> Path:
        return Path(str(self.target.settings.get("path")))

    def published_file(self, env: Environment) -> Path:
        return published_path(self.build_file, env)

    def loaded(self, table: str) -> bool | None:
        if not self.build_file.exists():
            return False
        schema, _, name = table.rpartition(".")
        try:
            with duckdb.connect(str(self.build_file), read_only=True) as con:
                found = con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchone()
        except duckdb.IOException:
            return None
        return bool(found and found[0])

    def where_analysts_read(self, env: Environment, sample: str, python: str) -> list[str]:
        published = self.published_file(env)
        query = (
            f'import duckdb; print(duckdb.connect("{published}", read_only=True)'
            f'.sql("{sample.format(schema=env.published_schema)}"))'
        )
        return [
            self.published_heading(env),
            f"  DuckDB file: {published}  (read-only; the build itself: {self.build_file})",
            f"  Query it:    {python} -c {shlex.quote(query)}",
        ]

    def published_login_sees(self, env: Environment) -> tuple[str | None, dict[str, str]]:
        file = self.published_file(env).resolve()
        return PUBLISHED_CATALOG, {PUBLISHED_FILE_VARIABLE: str(file)}

    def namespace(self) -> str:
        return f"duckdb://{self.build_file.resolve()}"

    def not_loaded(self, table: str) -> str | None:
        if not self.build_file.exists():
            return f"the warehouse {self.build_file} does not exist: nothing is loaded yet"
        return super().not_loaded(table)

    def unpublished(self, env: Environment) -> str | None:
        file = self.published_file(env)
        if file.exists():
            return None
        return f"nothing is published yet ({file} does not exist): `make publish` first"

    @contextmanager
    def read_published(
        self, env: Environment, project_dir: Path, profiles_dir: Path | None, application: str
    ) -> Iterator[Callable[[str], tuple[Columns, Rows]]]:
        reason = self.unpublished(env)
        if reason:
            raise LoaderError(reason)
        with duckdb.connect(str(self.published_file(env)), read_only=True) as con:

            def query(sql: str) -> tuple[Columns, Rows]:
                cur = con.execute(sql)
                return [d[0] for d in cur.description or []], cur.fetchall()

            yield query


@dataclasses.dataclass(frozen=True)
class PostgresEngine(Engine):
    kind: ClassVar[str] = "postgres"

    def loaded(self, table: str) -> bool | None:
        from elt.warehouse.postgres import open_target

        conn = open_target(self.target, "elt-check")
        try:
            with conn.cursor() as cur:
                cur.execute("select to_regclass(%s)", [table])
                row = cur.fetchone()
        finally:
            conn.close()
        return bool(row and row[0] is not None)

    def namespace(self) -> str:
        s = self.target.settings
        return f"postgres://{s.get('host')}:{s.get('port')}"

    def where_analysts_read(self, env: Environment, sample: str, python: str) -> list[str]:
        s, sql = self.target.settings, sample.format(schema=env.published_schema)
        return [
            self.published_heading(env),
            f"  PostgreSQL:  psql -h {s.get('host')} -p {s.get('port')} -U {analyst_role()} "
            f"{s.get('dbname')} -c {shlex.quote(sql)}",
        ]

    @contextmanager
    def read_published(
        self, env: Environment, project_dir: Path, profiles_dir: Path | None, application: str
    ) -> Iterator[Callable[[str], tuple[Columns, Rows]]]:
        from elt.warehouse.postgres import open_target

        analyst = load_target(project_dir, profiles_dir, published_login(self.target))
        conn = open_target(analyst, application)
        conn.set_session(readonly=True, autocommit=True)
        try:
            with conn.cursor() as cur:

                def query(sql: str) -> tuple[Columns, Rows]:
                    cur.execute(sql)
                    return [d[0] for d in cur.description or []], cur.fetchall()

                yield query
        finally:
            conn.close()


@dataclasses.dataclass(frozen=True)
class SparkEngine(Engine):
    kind: ClassVar[str] = "spark"
    no_metrics_on_build: ClassVar[str | None] = (
        "MetricFlow has no Spark adapter: on Spark `elt metrics` reads the published version "
        "through DuckDB (without --build); query the build area with `elt spark-sql`"
    )

    def loaded(self, table: str) -> bool | None:
        return None  # dbt-spark says so itself when a source is missing

    def namespace(self) -> str:
        s = self.target.settings
        if s.get("method") == "thrift":
            return f"hive://{s.get('host')}:{s.get('port')}"
        return f"spark://{s.get('host') or 'local'}"

    def where_analysts_read(self, env: Environment, sample: str, python: str) -> list[str]:
        sql = sample.format(schema=env.published_schema)
        return [
            self.published_heading(env) + " (views over the current version's Parquet tables)",
            f"  Query it:    make spark-sql SQL='{sql}'",
            "  Or through a Spark Thrift server (BI tools, beeline): make spark-thrift-up, then "
            f"jdbc:hive2://127.0.0.1:{os.environ.get('ELT_SPARK_THRIFT_PORT', '10000')}",
            "  The cluster: make spark-down stops it",
        ]

    def unpublished(self, env: Environment) -> str | None:
        from elt.warehouse.spark_catalog import published_views_path

        if published_views_path(env.prefix).exists():
            return None
        return f"nothing is published on {self.target.describe()} yet: `make publish` first"

    def published_login_sees(self, env: Environment) -> tuple[str | None, dict[str, str]]:
        """MetricFlow has no Spark adapter: ``spark_published`` is DuckDB on the views the
        publisher keeps over the current version's Parquet files."""
        from elt.warehouse.spark_catalog import published_views_path

        views = published_views_path(env.prefix)
        return PUBLISHED_CATALOG, {SPARK_VIEWS_VARIABLE: str(views)}

    @contextmanager
    def read_published(
        self, env: Environment, project_dir: Path, profiles_dir: Path | None, application: str
    ) -> Iterator[Callable[[str], tuple[Columns, Rows]]]:
        from elt.warehouse.spark_catalog import open_catalog

        reason = self.unpublished(env)
        if reason:
            raise LoaderError(reason)
        catalog = open_catalog(self.target.settings, work=True)
        try:
            yield catalog.query
        finally:
            catalog.close()


ENGINES: dict[str, type[Engine]] = {e.kind: e for e in (DuckDBEngine, PostgresEngine, SparkEngine)}


def engine(target: Target) -> Engine:
    return choose(target, {k: functools.partial(e, target) for k, e in ENGINES.items()}, "elt")
