"""The dbt project parses and builds, with its tests, on DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from elt.tests.dbt_runner import dbt


def test_dbt_parses(tmp_path: Path) -> None:
    result = dbt(tmp_path, "duckdb", "parse")
    assert result.returncode == 0, result.stdout + result.stderr


def test_dbt_builds_on_duckdb(tmp_path: Path) -> None:
    result = dbt(tmp_path, "duckdb", "build")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR=0" in result.stdout
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from reference.countries").fetchone() == (12,)


@pytest.mark.postgres
def test_dbt_builds_on_postgres(tmp_path: Path, pg_database: str) -> None:
    result = dbt(tmp_path, "postgres", "build", database=pg_database)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ERROR=0" in result.stdout
