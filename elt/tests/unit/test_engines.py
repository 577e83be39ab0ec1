"""What differs between the engines lives in one place (``elt.warehouse.engines``): the branch
on a target's type is taken there, and a concern an engine lacks says so in one line instead
of falling through to another engine's code."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from elt.backup import backup
from elt.environment import Environment
from elt.errors import LoaderError
from elt.publish.run import open_store
from elt.report.data import open_reader
from elt.tests.conftest import REPO
from elt.warehouse.engines import (
    ENGINES,
    DuckDBEngine,
    PostgresEngine,
    SparkEngine,
    choose,
    engine,
    published_path,
)
from elt.warehouse.profile import Target

DEV = Environment("dev", "dev_ana_")
SPARK = Target("spark", "spark", {"method": "session", "host": "localhost"})
PG = Target("postgres", "postgres", {"host": "127.0.0.1", "port": 5432, "dbname": "elt"})


def _duckdb(tmp_path: Path) -> Target:
    return Target("duckdb", "duckdb", {"path": str(tmp_path / "warehouse.duckdb")})


def test_only_the_engines_module_branches_on_a_targets_type() -> None:
    branch = re.compile(r"\.type\s*(==|!=|in\b)")
    found = []
    for path in sorted((REPO / "elt").rglob("*.py")):
        if "tests" in path.parts or path.name in {"engines.py", "profile.py"}:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if branch.search(line) and "target" in line:
                found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []


def test_every_engine_a_profile_can_name_has_an_implementation() -> None:
    assert set(ENGINES) == {"duckdb", "postgres", "spark"}
    assert isinstance(engine(SPARK), SparkEngine)
    assert isinstance(engine(PG), PostgresEngine)


def test_a_concern_an_engine_lacks_is_one_line_naming_those_that_have_it(tmp_path: Path) -> None:
    with pytest.raises(
        LoaderError, match=r"^backup: target 'spark' is spark, not one of duckdb, postgres$"
    ):
        backup(SPARK, tmp_path)  # before: ran pg_dump on the default PostgreSQL database
    odd = Target("odd", "oracle", {})
    with pytest.raises(
        LoaderError,
        match=r"^publication: target 'odd' is oracle, not one of duckdb, postgres, spark$",
    ):
        open_store(odd, DEV)
    page = pytest.raises(LoaderError, match=r"^the monitoring page: target 'odd' is oracle")
    with page, open_reader(odd, DEV, 1.0):
        pass
    with pytest.raises(LoaderError, match=r"^elt: target 'odd' is oracle, not one of duckdb"):
        engine(Target("odd", "oracle", {}))
    assert choose(SPARK, {"spark": lambda: 42}, "spark-sql") == 42


def test_spark_keeps_its_versions_without_starting_spark(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listing versions and the publisher's state reads files: no JVM (`elt status` on Spark)."""
    monkeypatch.setenv("ELT_SPARK_DIR", str(tmp_path))
    store = open_store(SPARK, DEV)
    assert store.versions() == []
    assert store.get_state("hold") is None
    assert SparkEngine(SPARK).unpublished(DEV) == (
        "nothing is published on target 'spark' (spark session, master local) yet: `make publish` first"
    )
    store.close()


def test_duckdb_says_why_nothing_can_be_built_yet(tmp_path: Path) -> None:
    target = _duckdb(tmp_path)
    warehouse = DuckDBEngine(target)
    assert warehouse.not_loaded("raw._elt_manifest") == (
        f"the warehouse {tmp_path / 'warehouse.duckdb'} does not exist: nothing is loaded yet"
    )
    with duckdb.connect(target.settings["path"]) as con:
        con.execute("create schema raw")
    assert warehouse.loaded("raw._elt_manifest") is False
    assert "yet (no raw._elt_manifest)" in (warehouse.not_loaded("raw._elt_manifest") or "")
    with duckdb.connect(target.settings["path"]) as con:
        con.execute("create table raw._elt_manifest (id int)")
    assert warehouse.loaded("raw._elt_manifest") is True
    assert warehouse.not_loaded("raw._elt_manifest") is None


def test_duckdb_analysts_read_their_own_file_read_only(tmp_path: Path) -> None:
    warehouse = DuckDBEngine(_duckdb(tmp_path))
    file = warehouse.published_file(DEV)
    assert (
        file == published_path(warehouse.build_file, DEV) == tmp_path / "dev_ana_published.duckdb"
    )
    unpublished = pytest.raises(LoaderError, match="nothing is published yet")
    with unpublished, warehouse.read_published(DEV, REPO, None, "test"):
        pass
    with duckdb.connect(str(file)) as con:
        con.execute("create schema dev_ana_analytics")
        con.execute("create table dev_ana_analytics.t as select 1 as n")
    with warehouse.read_published(DEV, REPO, None, "test") as query:
        assert query("select n from dev_ana_analytics.t") == (["n"], [(1,)])
        with pytest.raises(duckdb.Error):
            query("create table dev_ana_analytics.u (n int)")  # read-only
    assert warehouse.published_login_sees(DEV) == (
        "published",
        {"ELT_DUCKDB_PUBLISHED_PATH": str(file.resolve())},
    )


def test_each_engine_tells_analysts_where_to_read(tmp_path: Path) -> None:
    sample = "select 1 from {schema}.rpt_daily_sales"
    duck = DuckDBEngine(_duckdb(tmp_path)).where_analysts_read(DEV, sample, ".venv/bin/python")
    assert "schema dev_ana_analytics" in duck[0]
    assert any("dev_ana_published.duckdb" in line and "read_only=True" in line for line in duck)
    pg = PostgresEngine(PG).where_analysts_read(DEV, sample, "python")
    assert "psql -h 127.0.0.1 -p 5432 -U elt_analyst elt" in pg[1]
    assert "dev_ana_analytics.rpt_daily_sales" in pg[1]
    spark = SparkEngine(SPARK)
    assert "make spark-sql SQL='select 1 from dev_ana_analytics.rpt_daily_sales'" in "\n".join(
        spark.where_analysts_read(DEV, sample, "python")
    )
