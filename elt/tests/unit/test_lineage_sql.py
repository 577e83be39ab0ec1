"""Column lineage of one query (elt.lineage.sql): edge kinds, origins, indirect inputs and the
signatures the change-impact report compares, on small queries in each dialect."""

from __future__ import annotations

import pytest

from elt.errors import LoaderError
from elt.lineage.project import compute
from elt.lineage.sql import Input, query_lineage

T = ("db", "raw", "t")
U = ("db", "raw", "u")
SCHEMA = {
    T: {"id": "int", "a": "int", "b": "text", "ts": "timestamp"},
    U: {"id": "int", "c": "int"},
}


def edges(sql: str, dialect: str = "duckdb") -> dict[str, set[tuple[str, str]]]:
    found = query_lineage(sql, dialect, SCHEMA)
    return {c: {(i.column, i.kind) for i in inputs} for c, inputs in found.columns.items()}


def test_each_kind_of_edge() -> None:
    sql = """
        with base as (select * from db.raw.t),
        final as (
            select
                id,
                cast(b as varchar) as label,
                a + 1 as a_plus,
                cast(ts as date) as day,
                case when a > 0 then b end as positive_b
            from base
        )
        select * from final
    """
    assert edges(sql) == {
        "id": {("id", "passthrough")},
        "label": {("b", "rename")},
        "a_plus": {("a", "transformation")},
        "day": {("ts", "transformation")},  # a cast to a date drops the time
        "positive_b": {("a", "transformation"), ("b", "transformation")},
    }


def test_aggregates_windows_and_what_only_filters_or_joins() -> None:
    sql = """
        select t.id, sum(u.c) as total, count(*) as n,
               row_number() over (partition by t.b order by t.ts) as rank_in_b,
               lag(t.a) over (order by t.ts) as previous_a
        from db.raw.t as t join db.raw.u as u on u.id = t.id
        where t.a > 0
        group by t.id, t.b, t.ts, t.a
    """
    found = query_lineage(sql, "postgres", SCHEMA)
    got = {c: {(i.column, i.kind) for i in inputs} for c, inputs in found.columns.items()}
    assert got["total"] == {("c", "aggregation")}
    assert got["n"] == set()
    assert found.origins["n"] == "generated"  # a count of rows
    assert got["rank_in_b"] == {("b", "transformation"), ("ts", "transformation")}
    assert got["previous_a"] == {("a", "transformation"), ("ts", "transformation")}
    assert {(i.table[2], i.column, i.kind) for i in found.indirect} >= {
        ("u", "id", "JOIN"),
        ("t", "id", "JOIN"),
        ("t", "a", "FILTER"),
        ("t", "b", "WINDOW"),
        ("t", "id", "GROUP_BY"),
    }


def test_unions_constants_and_spark_sql() -> None:
    sql = """
        select id, 'first' as kind, current_timestamp() as at from raw.t
        union all
        select id, 'second' as kind, current_timestamp() as at from raw.u
    """
    schema = {("", "raw", "t"): SCHEMA[T], ("", "raw", "u"): SCHEMA[U]}
    found = query_lineage(sql, "spark", schema)
    assert {(i.table, i.column) for i in found.columns["id"]} == {
        (("", "raw", "t"), "id"),
        (("", "raw", "u"), "id"),
    }
    assert found.origins["kind"] == "constant"
    assert found.origins["at"] == "generated"


def test_signatures_ignore_comments_and_renames_not_expressions() -> None:
    base = "with x as (select a + 1 as v from db.raw.t) select v as {name} from x{comment}"

    def signature(name: str, comment: str = "", expression: str = "a + 1") -> str:
        sql = base.format(name=name, comment=comment).replace("a + 1", expression)
        found = query_lineage(sql, "duckdb", SCHEMA)
        return found.signatures[name]

    assert signature("v") == signature("v", comment="\n-- a comment")
    assert signature("v") == signature("renamed")
    assert signature("v") != signature("v", expression="a + 2")


def test_a_query_sqlglot_cannot_read_names_its_model() -> None:
    with pytest.raises(LoaderError, match=r"^broken_model: sqlglot cannot read its compiled SQL"):
        query_lineage("select from where", "duckdb", SCHEMA, "broken_model")


def test_a_star_over_unknown_columns_is_refused_not_guessed() -> None:
    manifest = {
        "metadata": {"adapter_type": "duckdb"},
        "sources": {},
        "nodes": {
            "model.p.m": {
                "unique_id": "model.p.m",
                "resource_type": "model",
                "name": "m",
                "alias": "m",
                "database": "db",
                "schema": "main",
                "fqn": ["p", "staging", "m"],
                "depends_on": {"nodes": []},
                "compiled_code": "select * from db.elsewhere.unknown",
            }
        },
    }
    with pytest.raises(LoaderError, match="column lineage of m: a `select \\*` reads a relation"):
        compute(manifest)


def test_inputs_sort_and_compare_as_values() -> None:
    assert Input(T, "a", "passthrough") == Input(T, "a", "passthrough")
    assert sorted([Input(U, "c", "rename"), Input(T, "a", "passthrough")])[0].table == T


def _model(name: str, sql: str, parents: list[str], layer: str) -> dict[str, object]:
    return {
        "unique_id": f"model.p.{name}",
        "resource_type": "model",
        "name": name,
        "alias": name,
        "database": "db",
        "schema": "main",
        "fqn": ["p", layer, name],
        "depends_on": {"nodes": [f"model.p.{p}" for p in parents]},
        "compiled_code": sql,
    }


def test_a_column_made_only_of_a_constant_upstream_is_constant_too() -> None:
    """Spark's date spine (explode of a sequence) is generated; a staging null read on through
    a mart is a constant, not a column that reaches no raw."""
    stg = "select explode(sequence(to_date('2025-01-01'), to_date('2025-01-31'))) as day, cast(null as string) as coupon"
    mart = "select day, coupon, upper(coupon) as shouted from db.main.stg"
    manifest = {
        "metadata": {"adapter_type": "spark"},
        "sources": {},
        "nodes": {
            "model.p.stg": _model("stg", stg, [], "staging"),
            "model.p.mart": _model("mart", mart, ["stg"], "marts"),
        },
    }
    lineage = compute(manifest)
    origins = {c: lineage.origins[lineage.find(f"mart.{c}")] for c in ("day", "coupon", "shouted")}
    assert origins == {"day": "generated", "coupon": "constant", "shouted": "constant"}
