"""The two sides the change-impact report compares, in one warehouse connection: the CI
build's marts (its own schemas) and production's published marts (what analysts read), with
each side's column types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb

from elt.environment import Environment
from elt.errors import TransientError
from elt.publish.diff import Warehouse, double_quoted
from elt.warehouse.engines import choose, published_path
from elt.warehouse.profile import Target

PRODUCTION = Environment("prod", "")


@dataclasses.dataclass
class Sides:
    warehouse: Warehouse
    candidate: Callable[[str], str]  # mart -> the CI build's relation
    published: Callable[[str], str | None]  # mart -> production's published relation, or None
    types: Callable[[str, str], dict[str, str]]  # (side, mart) -> column -> type
    # every relation of the warehouse -> its columns (the catalog the lineage reads)
    relations: Callable[[], dict[tuple[str, str, str], list[str]]]


def _relations(rows: list[tuple[Any, ...]]) -> dict[tuple[str, str, str], list[str]]:
    found: dict[tuple[str, str, str], list[str]] = {}
    for catalog, schema, table, column in rows:
        found.setdefault(
            (str(catalog).lower(), str(schema).lower(), str(table).lower()), []
        ).append(str(column).lower())
    return found


def _types(rows: list[tuple[Any, ...]]) -> dict[str, str]:
    return {str(name): str(kind).lower() for name, kind in rows}


@contextmanager
def _duckdb(target: Target, relations: dict[str, tuple[str, str, str]]) -> Iterator[Sides]:
    from elt.publish.duckdb_store import DuckDBWarehouse

    build = Path(str(target.settings.get("path")))
    published = published_path(build, PRODUCTION)
    database = next(iter(relations.values()))[0] if relations else "build"
    con = duckdb.connect()
    try:
        try:
            con.execute(f"attach '{build}' as {double_quoted(database)} (read_only)")
            if published.exists():
                con.execute(f"attach '{published}' as elt_published (read_only)")
        except duckdb.IOException as exc:
            raise TransientError(f"cannot open {build} to compare the CI build: {exc}") from None
        schema = PRODUCTION.published_schema
        kept = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables"
                " where table_catalog = 'elt_published' and table_schema = ?",
                [schema],
            ).fetchall()
        }

        def types(side: str, mart: str) -> dict[str, str]:
            catalog, where = (
                ("elt_published", schema) if side == "published" else relations[mart][:2]
            )
            return _types(
                con.execute(
                    "select column_name, data_type from information_schema.columns where"
                    " table_catalog = ? and table_schema = ? and table_name = ?"
                    " order by ordinal_position",
                    [catalog, where, mart],
                ).fetchall()
            )

        yield Sides(
            DuckDBWarehouse(con),
            lambda mart: ".".join(double_quoted(p) for p in relations[mart]),
            lambda mart: (
                f"elt_published.{double_quoted(schema)}.{double_quoted(mart)}"
                if mart in kept
                else None
            ),
            types,
            lambda: _relations(
                con.execute(
                    "select table_catalog, table_schema, table_name, column_name"
                    " from information_schema.columns order by ordinal_position"
                ).fetchall()
            ),
        )
    finally:
        con.close()


@contextmanager
def _postgres(target: Target, relations: dict[str, tuple[str, str, str]]) -> Iterator[Sides]:
    from elt.publish.postgres_store import PostgresWarehouse
    from elt.warehouse.postgres import open_target

    conn = open_target(target, "elt-impact")
    conn.set_session(readonly=True, autocommit=True)
    schema = PRODUCTION.published_schema

    def query(statement: str, params: list[str]) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return list(cur.fetchall())

    try:
        kept = {
            r[0]
            for r in query(
                "select table_name from information_schema.tables where table_schema = %s",
                [schema],
            )
        }

        def types(side: str, mart: str) -> dict[str, str]:
            where = schema if side == "published" else relations[mart][1]
            return _types(
                query(
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = %s and table_name = %s order by ordinal_position",
                    [where, mart],
                )
            )

        yield Sides(
            PostgresWarehouse(conn),
            lambda mart: ".".join(double_quoted(p) for p in relations[mart][1:]),
            lambda mart: f"{double_quoted(schema)}.{double_quoted(mart)}" if mart in kept else None,
            types,
            lambda: _relations(
                query(
                    "select table_catalog, table_schema, table_name, column_name"
                    " from information_schema.columns where table_schema not in"
                    " ('pg_catalog', 'information_schema') order by ordinal_position",
                    [],
                )
            ),
        )
    finally:
        conn.close()


def open_sides(
    target: Target, relations: dict[str, tuple[str, str, str]]
) -> AbstractContextManager[Sides]:
    """``relations``: each mart the CI build rebuilt, as (database, schema, name)."""
    return choose(
        target,
        {
            "duckdb": lambda: _duckdb(target, relations),
            "postgres": lambda: _postgres(target, relations),
        },
        "the change-impact report",
    )
