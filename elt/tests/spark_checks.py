"""Compare the marts of a Spark build with a DuckDB build of the same files.

Both sides are read with DuckDB: the DuckDB warehouse file, and the Parquet files Spark wrote
for each table (its folder under the Spark warehouse, date partitions included). Every value
is compared as text in one canonical spelling: decimals at their scale, timestamps in UTC to
the microsecond, dates ISO; columns by name (Spark puts partition columns last).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import duckdb

from elt.tests.mart_checks import DATA_MARTS, RUN_METADATA_COLUMNS


def spark_table(spark_dir: Path, schema: str, table: str) -> str:
    folder = spark_dir / "warehouse" / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark wrote no folder for {schema}.{table} ({folder})"
    return (
        f"read_parquet('{folder}/**/part-*', hive_partitioning = true, "
        "hive_types_autocast = false, union_by_name = true)"
    )


def _canonical(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], str]:
    described = con.execute(f"describe select * from {relation}").fetchall()
    names = sorted(name for name, *_ in described if name not in RUN_METADATA_COLUMNS)
    types = {name: kind.upper() for name, kind, *_ in described}
    parts = []
    for name in names:
        column = f'"{name}"'
        if types[name].startswith("TIMESTAMP"):
            column = f"strftime(cast({column} as timestamp), '%Y-%m-%d %H:%M:%S.%f')"
        # a Spark partition folder holds text; its null is Hive's default partition
        parts.append(
            f"nullif(cast({column} as varchar), '__HIVE_DEFAULT_PARTITION__') as \"{name}\""
        )
    return names, f"select {', '.join(parts)} from {relation}"


def fingerprint(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[list[str], int, str]:
    """(columns, rows, sha256 of the canonical rows in order)."""
    names, sql = _canonical(con, relation)
    order = ", ".join(str(i + 1) for i in range(len(names)))
    rows = con.execute(f"select * from ({sql}) order by {order}").fetchall()
    return names, len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def _against_duckdb(
    duckdb_path: Path,
    schema: str,
    other: Callable[[duckdb.DuckDBPyConnection, str], str],
    where: str,
) -> dict[str, str]:
    """{mart: what differs} for the data marts whose DuckDB rows (``schema`` of the file)
    differ from ``other(con, mart)``'s, a relation on the same connection; ``where`` names
    that side in the message."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{duckdb_path}' as built (read_only)")
    differences = {}
    try:
        for mart in DATA_MARTS:
            duck = fingerprint(con, f"built.{schema}.{mart}")
            theirs = fingerprint(con, other(con, mart))
            if duck[0] != theirs[0]:
                differences[mart] = f"columns {duck[0]} vs {theirs[0]}"
            elif duck[1:] != theirs[1:]:
                differences[mart] = (
                    f"{duck[1]} rows on DuckDB, {theirs[1]} {where}, or their values"
                )
    finally:
        con.close()
    return differences


def compare(
    duckdb_path: Path, spark_dir: Path, schema: str = "marts", spark_schema: str | None = None
) -> dict[str, str]:
    """{mart: what differs} for the data marts that differ; empty when every one is equal.
    ``schema`` in the DuckDB file against ``spark_schema`` (the same by default) on Spark: a
    published version's database against DuckDB's published file, for instance."""
    return _against_duckdb(
        duckdb_path,
        schema,
        lambda con, mart: spark_table(spark_dir, spark_schema or schema, mart),
        "on Spark",
    )


def compare_delta(duckdb_path: Path, lake: Path, schema: str = "analytics") -> dict[str, str]:
    """{mart: what differs} between DuckDB's published marts and the latest Delta version of
    each (``lake``: the folder of the published schema's Delta tables), read with deltalake."""
    from deltalake import DeltaTable

    def delta(con: duckdb.DuckDBPyConnection, mart: str) -> str:
        con.register("delta", DeltaTable(lake / mart).to_pyarrow_table())
        return "delta"

    return _against_duckdb(duckdb_path, schema, delta, "in Delta")
