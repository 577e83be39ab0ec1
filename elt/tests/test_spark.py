"""The Spark target: the loader's Parquet raw tables, the same models on Spark, equal marts.

The module builds one small dataset twice, on DuckDB and on Spark (local[2]), then adds a day
and builds both incrementally; every data mart must be equal after each build (spark_checks).
Spark needs the `spark` extra (pyspark, dbt-spark) and Java; without them the Spark tests skip,
unless ELT_REQUIRE_SPARK=1 (CI) makes them fail. The bookkeeping tests need no JVM.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from elt.environment import current
from elt.loader.spark_target import SparkWarehouse
from elt.tests.conftest import REPO, run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import kill_load_after_first_file
from elt.tests.spark_checks import compare, compare_delta, spark_table

REQUIRE_SPARK = os.environ.get("ELT_REQUIRE_SPARK") == "1"
SCALE, DAYS = "0.002", "10"


def _spark_missing() -> str | None:
    if (
        importlib.util.find_spec("pyspark") is None
        or importlib.util.find_spec("dbt.adapters.spark") is None
    ):
        return "pyspark / dbt-spark are not installed (make venv-spark)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17)"
    return None


@pytest.fixture(scope="module")
def spark_available() -> None:
    reason = _spark_missing()
    if reason is None:
        return
    if REQUIRE_SPARK:
        pytest.fail(f"{reason}; ELT_REQUIRE_SPARK=1 makes the Spark tests mandatory")
    pytest.skip(f"{reason}; CI sets ELT_REQUIRE_SPARK=1")


def spark_env(work: Path, master: str = "local[2]") -> dict[str, str]:
    return {
        "ELT_SPARK_DIR": str(work / "spark"),
        "ELT_SPARK_MASTER": master,
        "SPARK_CONF_DIR": str(REPO / "elt" / "spark_conf"),
        "ELT_SPARK_DRIVER_MEMORY": "1g",
    }


@dataclasses.dataclass
class Twin:
    work: Path
    data: Path
    env: dict[str, str]  # the Spark nights' (elt daily)
    differences: list[dict[str, str]]  # built marts, after the first night, after the added day
    published_differences: list[dict[str, str]]  # published versions, the same nights
    nights: list[str]  # what each Spark night printed
    partitions_before: dict[str, float]  # fct_order_items' order_date partitions: newest mtime
    partitions_after: dict[str, float]
    partitions_with_new_rows: set[str]  # of the added day's build
    lines_partitions: tuple[dict[str, float], dict[str, float]]  # int_order_items_deduplicated
    rerun_output: str
    executed_fact_sql: str  # what the second Spark build ran for fct_order_items
    trails: tuple[list[tuple[object, ...]], list[tuple[object, ...]]]  # DuckDB's, Spark's
    metrics: tuple[list[str], list[str]]  # `elt metrics` on the published marts: DuckDB, Spark
    delta_differences: tuple[dict[str, str], dict[str, str]]  # Delta written from DuckDB, Spark


def _fact(spark_dir: Path) -> Path:
    return spark_dir / "warehouse" / "marts.db" / "fct_order_items"


def _lines(spark_dir: Path) -> Path:
    return spark_dir / "warehouse" / "intermediate.db" / "int_order_items_deduplicated"


def _partitions(spark_dir: Path, table: Path | None = None) -> dict[str, float]:
    """A table's partitions (fct_order_items' order_date by default): the newest modification
    time of their files."""
    folder = table or _fact(spark_dir)
    return {
        p.name: max(f.stat().st_mtime for f in p.iterdir())
        for p in folder.iterdir()
        if p.is_dir() and "=" in p.name
    }


def _partitions_loaded_after(spark_dir: Path, after: dt.datetime | None) -> set[str]:
    """The partitions holding rows whose newest load came after ``after`` (all when None)."""
    import duckdb

    where = "" if after is None else f"where source_loaded_at > '{after.isoformat()}'"
    rows = (
        duckdb.connect()
        .execute(
            f"select distinct order_date from read_parquet('{_fact(spark_dir)}/**/part-*', "
            f"hive_partitioning = true, hive_types_autocast = false) {where}"
        )
        .fetchall()
    )
    return {f"order_date={r[0]}" for r in rows}


def _newest_load(spark_dir: Path) -> dt.datetime:
    import duckdb

    value = (
        duckdb.connect()
        .execute(
            f"select max(source_loaded_at) from read_parquet('{_fact(spark_dir)}/**/part-*', "
            "hive_partitioning = true)"
        )
        .fetchall()[0][0]
    )
    assert isinstance(value, dt.datetime)
    return value


def _load(target: str, data: Path, env: dict[str, str]) -> str:
    result = run_elt("load", "--target", target, "--data-dir", str(data), env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def night_env(folder: Path, data: Path, base: dict[str, str]) -> dict[str, str]:
    """`elt daily`'s settings for a warehouse whose dbt output, state and page are in ``folder``."""
    return {
        **base,
        "ELT_DATA_DIR": str(data),
        "DBT_TARGET_PATH": str(folder / "target"),
        "DBT_LOG_PATH": str(folder / "logs"),
        "ELT_STATE_DIR": str(folder / "state"),
        "ELT_REPORT_PATH": str(folder / "report.html"),
        "ELT_ALERT_COMMAND": "",
    }


def _night(target: str, env: dict[str, str], expect: int = 0) -> str:
    """One `elt daily` (load, build, audit, publish, page); what it printed."""
    done = run_elt("daily", "--target", target, env=env)
    printed = done.stdout + done.stderr
    assert done.returncode == expect, printed[-6000:]
    return printed


def current_database(env: dict[str, str]) -> str:
    """The database of the version the analysts' views read, as the publisher records it."""
    from elt.publish.spark_store import current_version

    published = current_version(Path(env["ELT_SPARK_DIR"]), current({"ELT_ENV": "prod"}))
    assert published is not None, "nothing is published on Spark"
    return f"analytics__v{published:06d}"


@pytest.fixture(scope="module")
def twin(spark_available: None, tmp_path_factory: pytest.TempPathFactory) -> Twin:
    """Two nights of `elt daily` on DuckDB and on Spark: a first full build, then an added day
    built incrementally; each night audited and published on both."""
    work = tmp_path_factory.mktemp("spark-twin")
    data = work / "data"
    # many late lines, so the added day brings lines of earlier order days
    made = run_elt(
        "generate",
        "--out",
        str(data),
        "--scale",
        SCALE,
        "--days",
        DAYS,
        "--rate",
        "late_arriving=0.3",
        "--quiet",
    )
    assert made.returncode == 0, made.stderr
    (work / "duck").mkdir()
    duck_env = night_env(
        work / "duck",
        data,
        {
            "ELT_DUCKDB_PATH": str(work / "duck" / "warehouse.duckdb"),
            "ELT_DELTA_DIR": str(work / "lake-duck"),
        },
    )
    env = night_env(
        work / "sparkbuild", data, {**spark_env(work), "ELT_DELTA_DIR": str(work / "lake-spark")}
    )
    differences, published, nights = [], [], []
    for day in range(2):
        if day:
            more = run_elt("generate", "--out", str(data), "--continue", "--days", "1", "--quiet")
            assert more.returncode == 0, more.stderr
        _night("duckdb", duck_env)
        nights.append(_night("spark", env))
        differences.append(compare(work / "duck" / "warehouse.duckdb", work / "spark"))
        published.append(
            compare(
                work / "duck" / "published.duckdb",
                work / "spark",
                "analytics",
                current_database(env),
            )
        )
        if day == 0:
            # the first night builds everything: its manifest holds every model's compiled SQL
            # (a scoped night's, only what it built)
            shutil.copy(work / "sparkbuild" / "target" / "manifest.json", work / "full-build.json")
            before = _partitions(work / "spark")
            lines_before = _partitions(work / "spark", _lines(work / "spark"))
            first_load = _newest_load(work / "spark")
    rerun = _load("spark", data, env)
    fact = next((work / "sparkbuild" / "target" / "run").rglob("fct_order_items.sql"))
    trails = (
        _trail(f"'{work / 'duck' / 'warehouse.duckdb'}'", "built.publish"),
        _trail(spark_table(work / "spark", "publish", "published_daily_totals")),
    )
    metrics = (_metrics("duckdb", duck_env), _metrics("spark", env))
    published_file = work / "duck" / "published.duckdb"
    deltas = (
        compare_delta(published_file, work / "lake-duck" / "analytics"),
        compare_delta(published_file, work / "lake-spark" / "analytics"),
    )
    return Twin(
        work,
        data,
        env,
        differences,
        published,
        nights,
        before,
        _partitions(work / "spark"),
        _partitions_loaded_after(work / "spark", first_load),
        (lines_before, _partitions(work / "spark", _lines(work / "spark"))),
        rerun,
        fact.read_text(),
        trails,
        metrics,
        deltas,
    )


def _metrics(target: str, env: dict[str, str]) -> list[str]:
    """MetricFlow's revenue by order day on the published marts: its result table's lines."""
    done = run_elt(
        "metrics",
        "--target",
        target,
        "query",
        "--metrics",
        "revenue,orders",
        "--group-by",
        "metric_time__day",
        "--order",
        "metric_time__day",
        env=env,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    lines = done.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("metric_time__day"))
    return [" ".join(line.split()) for line in lines[start:] if line.strip()]


def _trail(source: str, table: str | None = None) -> list[tuple[object, ...]]:
    """The audit trail's rows (elt.publish.trail) but their time: from DuckDB's build file
    (``source`` attached, ``table`` in it) or Spark's Parquet files (``source`` a reader)."""
    import duckdb

    con = duckdb.connect()
    if table:
        con.execute(f"attach {source} as built (read_only)")
    relation = f"{table}.published_daily_totals" if table else source
    return con.execute(
        "select version, mart, total, business_day, value, previous_value"
        f" from {relation} order by all"
    ).fetchall()


def test_every_data_mart_equals_the_duckdb_build(twin: Twin) -> None:
    assert twin.differences[0] == {}
    assert "published v000001" in twin.nights[0]
    assert twin.published_differences[0] == {}


def test_the_audit_trail_of_published_figures_is_duckdbs(twin: Twin) -> None:
    """Each publication's daily totals, appended without MERGE: the same rows on Spark."""
    duck, spark = twin.trails
    assert {row[0] for row in duck} == {1, 2}
    assert {row[1] for row in duck} >= {"fct_order_items", "rpt_daily_sales"}
    assert spark == duck


def test_delta_tables_of_the_published_marts_from_duckdb_and_spark_equal_them(
    twin: Twin,
) -> None:
    """ELT_DELTA_DIR: each publication also writes the marts as Delta (delta-rs, no JVM); read
    back with deltalake, the latest Delta version equals the published marts, from DuckDB's
    version file as from Spark's Parquet files."""
    assert twin.delta_differences == ({}, {})


def test_metrics_on_sparks_published_marts_are_duckdbs(twin: Twin) -> None:
    """MetricFlow has no Spark adapter: on Spark it reads the current version's Parquet files
    through the DuckDB views the publisher keeps; the figures are DuckDB's."""
    duck, spark = twin.metrics
    assert len(duck) > 10  # the header, its rule and a row per order day
    assert spark == duck


def test_after_an_incremental_day_every_data_mart_still_equals_duckdb(twin: Twin) -> None:
    assert twin.differences[1] == {}
    assert "published v000002" in twin.nights[1]
    assert twin.published_differences[1] == {}
    # the second build was incremental: the fact's statement overwrote its date partitions
    executed = twin.executed_fact_sql.lower()
    assert "insert overwrite table" in executed
    assert "partition (order_date)" in executed


def test_column_lineage_reads_sparks_compiled_sql_as_the_hand_written_table(twin: Twin) -> None:
    from elt.lineage.project import load
    from elt.tests.lineage_expected import differences, unresolved_mart_columns

    target = twin.work / "full-build"
    target.mkdir(exist_ok=True)
    shutil.copy(twin.work / "full-build.json", target / "manifest.json")
    lineage = load(target)
    assert lineage.dialect == "spark"
    assert differences(lineage) == {}
    assert unresolved_mart_columns(lineage) == []


def test_the_fact_rewrites_only_the_order_days_new_rows_touch(twin: Twin) -> None:
    before, after = twin.partitions_before, twin.partitions_after
    touched_earlier = twin.partitions_with_new_rows & set(before)
    assert touched_earlier, "the added day brought no line of an earlier order day (late lines)"
    rewritten = {p for p in before if after[p] != before[p]}
    assert rewritten == touched_earlier
    assert set(before) - rewritten, "every partition was rewritten: not a partition overwrite"
    assert twin.partitions_with_new_rows - set(before), "no partition for the new order day"


def test_the_deduplicated_lines_rewrite_only_the_days_new_lines_fall_in(twin: Twin) -> None:
    """int_order_items_deduplicated, partitioned by created_date on Spark: the added day's
    night rewrote the days its lines were created on (late lines included), not the rest."""
    before, after = twin.lines_partitions
    assert len(before) >= 10
    rewritten = {p for p in before if after[p] != before[p]}
    assert set(before) - rewritten, "every partition was rewritten: not a partition overwrite"
    assert set(after) - set(before), "no partition for the added day's lines"


def test_a_second_load_of_the_same_files_loads_nothing(twin: Twin) -> None:
    assert "0 rows loaded" in twin.rerun_output


def test_a_killed_load_is_completed_by_the_next_with_every_file_once(
    twin: Twin, tmp_path: Path
) -> None:
    """kill -9 of `elt load --target spark` after its first committed file, then a rerun: each
    file's rows are in its raw table once, as many as its manifest row says, and no more."""
    import duckdb

    env = {**os.environ, **spark_env(tmp_path)}
    events = tmp_path / "load.jsonl"
    n_files = sum(1 for p in twin.data.rglob("part-*") if p.is_file())
    kill_load_after_first_file("spark", twin.data, env, events)
    raw = tmp_path / "spark" / "raw" / "raw"
    committed = len(list((raw / "_elt_manifest").glob("*.parquet")))
    assert 0 < committed < n_files, f"not killed mid-way: {committed} of {n_files} files committed"
    rerun = run_elt("load", "--target", "spark", "--data-dir", str(twin.data), env=env)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    con = duckdb.connect()
    manifest = dict(
        con.execute(
            "select file_path, rows_loaded from read_parquet(?) where status = 'loaded'",
            [str(raw / "_elt_manifest" / "*.parquet")],
        ).fetchall()
    )
    assert len(manifest) == n_files
    stored: dict[str, int] = {}
    for folder in raw.iterdir():
        if folder.name.startswith("_") or not list(folder.glob("part-*.parquet")):
            continue
        rows = con.execute(
            "select _source_file, count(*), count(distinct _row_number) from read_parquet(?) group by 1",
            [str(folder / "part-*.parquet")],
        ).fetchall()
        for path, count, distinct in rows:
            assert count == distinct, f"{path}: rows twice in {folder.name}"
            stored[path] = count
    assert stored == {path: n for path, n in manifest.items() if n}


def test_the_local_cluster_starts_runs_a_model_and_stops(twin: Twin) -> None:
    ports = {
        "ELT_SPARK_MASTER_PORT": "17077",
        "ELT_SPARK_MASTER_UI_PORT": "18081",
        "ELT_SPARK_WORKER_UI_PORT": "18082",
    }
    env = {**twin.env, **ports, "ELT_SPARK_MASTER": "spark://127.0.0.1:17077"}
    started = run_elt("spark-cluster", "start", env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "workers: 2 alive of 2" in started.stdout
        result = dbt(twin.work / "cluster", "spark", "run", "--select", "dim_date", env=env)
        assert result.returncode == 0, result.stdout[-3000:]
        from urllib.request import urlopen

        with urlopen("http://127.0.0.1:18081/json/", timeout=5) as page:
            status = json.load(page)
        assert status["completedapps"], "dbt's Spark application did not run on the cluster"
        # one core on each of the two workers: dbt's application had two executors
        assert [app["cores"] for app in status["completedapps"]] == [2]
        app = status["completedapps"][0]["id"]
        executors = twin.work / "spark" / "cluster" / "work" / app
        assert len(list(executors.iterdir())) == 2, "not one executor on each worker"
    finally:
        stopped = run_elt("spark-cluster", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert "down" in stopped.stdout


def test_through_a_thrift_server_the_loader_and_dbt_rebuild_the_same_marts(twin: Twin) -> None:
    """`method: thrift`: the loader's DDL and every model through a Spark Thrift server (which
    holds the metastore while it runs), rebuilt in full from raw tables compacted first
    (`elt compact`: one file per raw table): the marts still equal DuckDB's."""
    env = {**twin.env, "ELT_SPARK_THRIFT_PORT": "11000"}
    compacted = run_elt("compact", "--target", "spark", env=env)
    assert compacted.returncode == 0, compacted.stdout[-3000:] + compacted.stderr[-3000:]
    assert "raw.shop__order_items: 11 files -> 1" in compacted.stdout
    started = run_elt("spark-cluster", "thrift-start", env=env)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        loaded = run_elt("load", "--target", "spark_thrift", "--data-dir", str(twin.data), env=env)
        assert loaded.returncode == 0, loaded.stdout[-3000:] + loaded.stderr[-3000:]
        assert "0 rows loaded" in loaded.stdout
        built = dbt(twin.work / "thrift", "spark_thrift", "run", "--full-refresh", env=env)
        assert built.returncode == 0, built.stdout[-4000:]
    finally:
        stopped = run_elt("spark-cluster", "thrift-stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert compare(twin.work / "duck" / "warehouse.duckdb", twin.work / "spark") == {}


# -- write-audit-publish on Spark: after the twin's nights (the tests above compare builds) --

FIGURES = "select count(*), sum(quantity) from analytics.fct_order_items"


@dataclasses.dataclass
class Wap:
    figures_before: str  # what analysts read before the bad night
    blocked: str  # the night of a line typed with quantity 100000
    figures_after_block: str
    database_after_block: str
    page_after_block: str
    status_after_block: str
    rolled_back: str
    database_after_rollback: str
    figures_after_rollback: str
    refused: str  # `elt publish` while the rollback holds
    database_after_kill: str  # a night killed during its build
    figures_after_kill: str
    versions_after_kill: str


def _elt(env: dict[str, str], *args: str, expect: int = 0) -> str:
    done = run_elt(*args, "--target", "spark", env=env)
    printed = done.stdout + done.stderr
    assert done.returncode == expect, printed[-4000:]
    return printed


def _figures(env: dict[str, str]) -> str:
    """The row of FIGURES as analysts read it now (`elt spark-sql` prints a table)."""
    done = run_elt("spark-sql", FIGURES, "--target", "spark", env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    [row] = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert re.fullmatch(r"│ \d+ +│ \d+ +│", row), row
    return row


def _kill_during_build(env: dict[str, str], log: Path) -> None:
    """`elt daily` killed (its whole process group, dbt's Spark with it) once dbt builds."""
    import signal
    import subprocess
    import sys
    import time

    with log.open("w") as out:
        night = subprocess.Popen(
            [sys.executable, "-m", "elt", "daily", "--target", "spark"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 600
        try:
            while "OK created" not in log.read_text() and night.poll() is None:
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.5)
            assert night.poll() is None, "the night ended before it could be killed"
        finally:
            os.killpg(night.pid, signal.SIGKILL)
            night.wait(timeout=60)


@pytest.fixture(scope="module")
def wap(twin: Twin) -> Wap:
    from elt.tests.audit_cases import edit_order_lines

    env = twin.env
    before = _figures(env)
    more = run_elt("generate", "--out", str(twin.data), "--continue", "--days", "1", "--quiet")
    assert more.returncode == 0, more.stderr
    newest = sorted((twin.data / "shop" / "order_items").iterdir())[-1]
    [lines] = sorted(newest.glob("*.csv"))
    edit_order_lines(lines, lambda row: {**row, "quantity": "100000"}, only_first=True)
    blocked = _night("spark", env, expect=1)
    after_block = (_figures(env), current_database(env))
    page = Path(env["ELT_REPORT_PATH"]).read_text()
    status = _elt(env, "status")
    rolled = _elt(env, "rollback", "--reason", "the night's figures are checked again")
    after_rollback = (current_database(env), _figures(env))
    refused = _elt(env, "publish", expect=1)
    more = run_elt("generate", "--out", str(twin.data), "--continue", "--days", "1", "--quiet")
    assert more.returncode == 0, more.stderr
    _kill_during_build(env, twin.work / "killed.log")
    return Wap(
        before,
        blocked,
        *after_block,
        page,
        status,
        rolled,
        *after_rollback,
        refused,
        current_database(env),
        _figures(env),
        _elt(env, "versions"),
    )


def test_a_bad_line_blocks_publication_on_spark_and_analysts_keep_their_version(wap: Wap) -> None:
    assert "publication blocked" in wap.blocked
    assert "analysts keep v000002" in wap.blocked
    assert wap.database_after_block == "analytics__v000002"
    assert wap.figures_after_block == wap.figures_before
    assert "blocked" in wap.status_after_block


def test_the_page_is_written_on_spark_and_names_the_nights_outcome(wap: Wap) -> None:
    assert 'class="banner outcome-blocked"' in wap.page_after_block
    assert "Analysts read <b id='reading-version'>v000002</b>" in wap.page_after_block


def test_a_rollback_on_spark_switches_analysts_back_and_holds_them(wap: Wap) -> None:
    assert wap.database_after_rollback == "analytics__v000001"
    assert wap.figures_after_rollback != wap.figures_before  # v1 holds a day less
    assert "publication refused: held at v000001" in wap.refused


def test_a_night_killed_during_its_build_leaves_analysts_their_version(wap: Wap) -> None:
    assert wap.database_after_kill == "analytics__v000001"
    assert wap.figures_after_kill == wap.figures_after_rollback
    assert re.findall(r"(v\d{6})  published", wap.versions_after_kill) == ["v000001", "v000002"]


def test_spark_sql_names_a_target_of_another_type() -> None:
    result = run_elt("spark-sql", "--target", "duckdb", "select 1")
    assert result.returncode == 2
    assert "is duckdb, not spark" in result.stderr


def test_the_cluster_commands_need_no_running_cluster_to_report(tmp_path: Path) -> None:
    missing = _spark_missing()
    if missing:
        pytest.skip(missing)
    result = run_elt(
        "spark-cluster",
        "status",
        env={
            "ELT_SPARK_DIR": str(tmp_path),
            "ELT_SPARK_MASTER_PORT": "17099",
            "ELT_SPARK_MASTER_UI_PORT": "18099",
        },
    )
    assert result.returncode == 0
    assert "master spark://127.0.0.1:17099: down" in result.stdout


def test_the_audit_diff_runs_on_spark(bare_spark_warehouse: SparkWarehouse) -> None:
    """The publication audit's diff (elt/publish/diff.py) is plain SQL: on Spark, through the
    project's catalog, it counts the same rows, columns and daily totals as on the databases."""
    from elt.publish.diff import diff_mart
    from elt.publish.spark_warehouse import SparkWarehouse as SparkSides
    from elt.publish.spec import Gates, MartSpec, Total

    catalog = bare_spark_warehouse.catalog
    catalog.sql(
        "create or replace temp view published_lines as select * from values"
        " (1, date'2025-03-03', 'EU', cast(10.00 as decimal(18,2))),"
        " (2, date'2025-03-03', 'EU', cast(20.00 as decimal(18,2))),"
        " (3, date'2025-03-04', 'NA', cast(30.00 as decimal(18,2)))"
        " as t(line_id, order_date, region, amount)"
    )
    catalog.sql(
        "create or replace temp view candidate_lines as select * from values"
        " (1, date'2025-03-03', 'EU', cast(10.00 as decimal(18,2))),"
        " (2, date'2025-03-03', 'NA', cast(25.00 as decimal(18,2))),"
        " (4, date'2025-03-05', 'EU', cast(40.00 as decimal(18,2)))"
        " as t(line_id, order_date, region, amount)"
    )
    spec = MartSpec(
        "lines",
        ("line_id",),
        "order_date",
        (Total("amount", "sum(amount)", 0.0), Total("lines", "count(*)", 0.0)),
        ("region",),
        Gates(),
    )
    got = diff_mart(SparkSides(catalog), spec, "candidate_lines", "published_lines")
    assert (got.published_rows, got.candidate_rows) == (3, 3)
    assert (got.added, got.removed, got.changed) == (1, 1, 1)
    assert got.columns_changed == {"order_date": 0, "region": 1, "amount": 1}
    day = dt.date(2025, 3, 3)
    assert got.series[("amount", "", "")][day] == (30.0, 35.0)
    assert got.series[("amount", "region", "NA")][day] == (None, 25.0)
    assert got.series[("lines", "", "")][dt.date(2025, 3, 5)] == (None, 1.0)
