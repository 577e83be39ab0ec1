"""The daily DAG: it imports cleanly with the expected tasks, and runs end to end under
`airflow dags test` on a small generated dataset (DuckDB), failing when a dbt test fails.

Runs in .venv-airflow (`make test-airflow`), which holds Airflow 3, Cosmos and the project.
The DAG works on a copy of the dbt project (``ELT_PROJECT_DIR``): its dbt writes the
copy's target folder, never the repository's, so these tests can run beside pytest's.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.project_copy import copy_project

REPO = Path(__file__).resolve().parents[3]
DAGS = REPO / "orchestration" / "airflow" / "dags"
DAG_ID = "elt_warehouse_daily"
BIN = Path(sys.executable).parent
QUIET = {
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "SCARF_ANALYTICS": "false",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}


def run(
    cmd: list[str], env: dict[str, str], timeout: int = 1800
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )


class Airflow:
    """A throwaway Airflow home (SQLite) pointed at the repository's DAG folder."""

    def __init__(self, home: Path, project: Path, extra: dict[str, str]) -> None:
        self.home = home
        self.project = project
        self.env = {
            **os.environ,
            **QUIET,
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "DBT_PROFILES_DIR": str(project),
            "ELT_PROJECT_DIR": str(project),
            **extra,
        }
        # as in production (and `make airflow-dags-test`): the manifest in <project>/target
        self.env.pop("DBT_TARGET_PATH", None)
        parsed = run(
            [str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(project)], self.env
        )
        assert parsed.returncode == 0, parsed.stdout[-3000:]
        migrated = run([str(BIN / "airflow"), "db", "migrate"], self.env)
        assert migrated.returncode == 0, migrated.stdout[-3000:] + migrated.stderr[-3000:]

    def dags_test(self) -> subprocess.CompletedProcess[str]:
        result = run([str(BIN / "airflow"), "dags", "test", DAG_ID], self.env)
        (self.home / "dags-test.log").write_text(result.stdout + result.stderr)  # the whole log
        return result

    def last_run(self) -> str:
        with sqlite3.connect(self.home / "airflow.db") as db:
            [(run_id,)] = db.execute(
                "select run_id from dag_run where dag_id = ? order by id desc limit 1", (DAG_ID,)
            ).fetchall()
        return str(run_id)

    def task_states(self) -> dict[str, str]:
        """Final state of every task instance of the last run (try number ignored)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            rows = db.execute(
                "select task_id, state from task_instance where dag_id = ? and run_id = ?",
                (DAG_ID, self.last_run()),
            ).fetchall()
        return {task: str(state) for task, state in rows}

    def dag_run_state(self) -> str:
        with sqlite3.connect(self.home / "airflow.db") as db:
            [(state,)] = db.execute(
                "select state from dag_run where dag_id = ? and run_id = ?",
                (DAG_ID, self.last_run()),
            ).fetchall()
        return str(state)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("dag") / "project")


def load_dag(monkeypatch: pytest.MonkeyPatch, project: Path, extra: dict[str, str]) -> Any:
    """Parse the DAG folder as the scheduler would (in this process, on ``project``, with
    ``extra`` set)."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("ELT_PROJECT_DIR", str(project))
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}, bag.import_errors
    return bag.dags[DAG_ID]


@pytest.fixture(scope="module")
def manifest(project: Path) -> dict[str, Any]:
    """A fresh manifest where the DAG reads it (<project>/target), as `make airflow-dags-test` makes."""
    env = {**os.environ, **QUIET, "DBT_PROFILES_DIR": str(project)}
    env.pop("DBT_TARGET_PATH", None)
    parsed = run([str(BIN / "dbt"), "parse", "--quiet", "--project-dir", str(project)], env)
    assert parsed.returncode == 0, parsed.stdout[-3000:]
    data: dict[str, Any] = json.loads((project / "target" / "manifest.json").read_text())
    return data


def test_dag_imports_with_the_expected_tasks_and_dependencies(
    manifest: dict[str, Any], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = load_dag(monkeypatch, project, {"ELT_TARGET": "duckdb"})
    tasks = {t.task_id: t for t in dag.tasks}
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    seeds = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "seed"}
    snapshots = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "snapshot"}
    # one task group per tested model: run, then its tests; an untested model (the staging
    # views: their checks live on the incremental models) is a single run task
    tested = set()
    for n in manifest["nodes"].values():
        parents = [d for d in n.get("depends_on", {}).get("nodes", []) if d.startswith("model.")]
        if n["resource_type"] == "test" and len(parents) == 1:  # others get tasks of their own
            tested.add(parents[0].split(".")[-1])
    for m in models:
        if m in tested:
            assert f"dbt.{m}.run" in tasks, m
            assert f"dbt.{m}.test" in tasks[f"dbt.{m}.run"].downstream_task_ids, m
        else:
            assert f"dbt.{m}_run" in tasks, m
    assert {f"dbt.{s}.seed" for s in seeds} <= tasks.keys()
    assert {f"dbt.{s}_snapshot" for s in snapshots} <= tasks.keys()
    # load -> scope -> dbt -> all-rows tests -> publish -> docs; a model waits for its
    # upstream model's tests
    assert {"load", "scope", "all_rows_tests", "docs"} <= tasks.keys()
    assert "elementary_report" not in tasks  # only with ELT_ELEMENTARY_PACKAGES
    assert tasks["scope"].upstream_task_ids == {"load"}
    assert tasks["scope"].bash_command.endswith(" --nothing-new-exit-code 99")
    assert tasks["scope"].skip_on_exit_code == [99]
    dbt_tasks = [t for t in tasks.values() if t.task_id.startswith("dbt.")]
    roots = [t for t in dbt_tasks if not any(u.startswith("dbt.") for u in t.upstream_task_ids)]
    assert roots
    assert all(t.upstream_task_ids == {"scope"} for t in roots)
    # publish after every dbt task (its audit: all succeeded) and the weekly all-rows tests,
    # then the docs; a failure anywhere raises the blocked-publication alert instead
    assert tasks["all_rows_tests"].upstream_task_ids <= {t.task_id for t in dbt_tasks}
    assert " test-all-rows --target duckdb " in tasks["all_rows_tests"].bash_command
    assert tasks["all_rows_tests"].bash_command.endswith(" --if-due")
    assert tasks["docs"].upstream_task_ids == {"publish"}
    assert tasks["publish"].upstream_task_ids == {"all_rows_tests"}
    assert tasks["publish"].trigger_rule == "all_success"
    assert " publish --target duckdb " in tasks["publish"].bash_command
    assert tasks["publish"].bash_command.endswith(" --scope")
    assert tasks["publication_blocked"].upstream_task_ids == tasks[
        "all_rows_tests"
    ].upstream_task_ids | {"load", "scope", "all_rows_tests"}
    assert "--failed-step" in tasks["publication_blocked"].bash_command
    assert tasks["publication_blocked"].trigger_rule == "one_failed"
    assert dag.has_task("dbt.assert_revenue_reconciles_across_marts_test")
    assert "dbt.int_orders_resolved.test" in tasks["dbt.fct_order_items.run"].upstream_task_ids
    assert "dbt.dim_product.test" in tasks["dbt.fct_order_items.run"].upstream_task_ids
    # retries, timeouts, schedule
    assert tasks["publication_blocked"].retries == 0  # an alert, not work to retry
    assert all(t.retries == 2 for t in tasks.values() if t.task_id != "publication_blocked")
    assert all(t.retry_delay == dt.timedelta(minutes=5) for t in tasks.values())
    assert all(t.execution_timeout is not None for t in tasks.values())
    assert all(t.owner == "data-engineering" for t in tasks.values())
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.max_active_tasks == 1  # DuckDB: one writer
    assert dag.dagrun_timeout == dt.timedelta(hours=6)
    assert {"elt", "dbt", "duckdb"} <= set(dag.tags)


def test_target_and_elementary_come_from_configuration(
    manifest: dict[str, Any], project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dag = load_dag(
        monkeypatch,
        project,
        {"ELT_TARGET": "postgres", "ELT_ELEMENTARY_PACKAGES": str(tmp_path)},
    )
    tasks = {t.task_id: t for t in dag.tasks}
    assert "postgres" in dag.tags
    assert dag.max_active_tasks == 4
    assert "--target postgres_loader" in tasks["load"].bash_command
    assert "--target postgres" in tasks["docs"].bash_command
    assert "elt docs-pages --target postgres" in tasks["docs"].bash_command.replace("'", "")
    assert tasks["elementary_report"].upstream_task_ids == {"docs"}
    assert "edr" in tasks["elementary_report"].bash_command


@pytest.mark.parametrize(("exit_code", "retried"), [(0, None), (1, False), (2, False), (3, True)])
def test_the_load_is_retried_only_after_a_transient_error(
    manifest: dict[str, Any],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    exit_code: int,
    retried: bool | None,
) -> None:
    """`elt load` exits 3 when the database went away: worth a retry; 1 (bad files) and 2
    (bad settings) would fail the same way again, so the task fails without retrying."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    dag = load_dag(monkeypatch, project, {"ELT_TARGET": "duckdb"})
    load = {t.task_id: t for t in dag.tasks}["load"]
    assert load.retries == 2
    load.bash_command = f"echo loading; exit {exit_code}"
    if retried is None:
        assert load.execute({}) == "loading"
        return
    with pytest.raises(AirflowException) as caught:
        load.execute({})
    # Airflow retries an AirflowException and never an AirflowFailException
    assert isinstance(caught.value, AirflowFailException) is not retried
    assert f"exit {exit_code}" in str(caught.value)


def clean(**rates: float) -> GeneratorConfig:
    return GeneratorConfig(
        scale=0.005,
        seed=5,
        start=dt.date(2025, 3, 3),
        rates={k: rates.get(k, 0.0) for k in MESS_KINDS},
    )


@pytest.fixture
def airflow(tmp_path: Path) -> Any:
    def make(cfg: GeneratorConfig) -> tuple[Airflow, Path]:
        data = tmp_path / "data"
        generate(data, cfg, days=3)
        warehouse = tmp_path / "warehouse.duckdb"
        extra = {
            "ELT_ENV": "prod",
            "ELT_EMAIL_HASH_KEY": "airflow-test-email-hash-key-0123456789",
            "ELT_TARGET": "duckdb",
            "ELT_DATA_DIR": str(data),
            "ELT_DUCKDB_PATH": str(warehouse),
            "ELT_DAG_RETRY_DELAY_SECONDS": "1",
            "ELT_REPORT_PATH": str(tmp_path / "report.html"),
        }
        return Airflow(tmp_path / "airflow", copy_project(tmp_path / "project"), extra), warehouse

    return make


@pytest.mark.slow
def test_the_dag_runs_the_pipeline_end_to_end(airflow: Any) -> None:
    af, warehouse = airflow(clean(wrong_column_count=0.002, dirty_null=0.05))
    started = time.time()
    result = af.dags_test()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert af.dag_run_state() == "success"
    states = af.task_states()
    assert states.pop("publication_blocked") == "skipped"
    assert set(states.values()) == {"success"}, {k: v for k, v in states.items() if v != "success"}
    # analysts read the published file: every mart, from this run
    with duckdb.connect(str(warehouse.with_name("published.duckdb")), read_only=True) as con:
        published = con.sql(
            "select count(*) from information_schema.tables where table_schema = 'analytics'"
        ).fetchall()[0][0]
        assert published >= 13
        assert con.sql("select count(*) from analytics.fct_orders").fetchall()[0][0] > 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        marts = [
            r[0]
            for r in con.sql(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        assert {
            "fct_order_items",
            "fct_orders",
            "fct_payments",
            "dim_customer",
            "dim_date",
            "rpt_daily_sales",
            "rpt_pipeline_health",
        } <= set(marts)
        for mart in marts:
            if mart == "rpt_rejected_rows":  # no value fails to parse in this clean dataset
                continue
            assert con.sql(f"select count(*) from marts.{mart}").fetchall()[0][0] > 0, mart
        assert "rpt_rejected_rows" in marts
    docs = af.project / "target" / "index.html"
    assert docs.is_file()
    assert docs.stat().st_mtime > started  # the docs task ran
    # every dbt task is in the run history, tagged with the DAG run, and the page was written
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs = con.sql("select command, status, orchestrator_run_id from raw._elt_runs").fetchall()
        dbt_tasks = [t for t in states if t.startswith("dbt.")]
        # and the first night is an all-rows night: every test on every row, once more
        assert len([r for r in runs if r[0] != "load"]) == len(dbt_tasks) + 1
        assert {r[1] for r in runs} <= {"success", "warn"}
        assert len({r[2] for r in runs if r[0] != "load"}) == 1  # one DAG run
        nodes = con.sql("select count(distinct unique_id) from raw._elt_run_nodes").fetchall()[0][0]
        assert nodes > 100
    page = warehouse.parent / "report.html"
    assert page.is_file()
    assert page.stat().st_mtime > started

    # the next night no file arrived: scope records it and skips the build and publication,
    # the page is still written and says so
    again = af.dags_test()
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    assert af.dag_run_state() == "success"
    states = af.task_states()
    assert states["load"] == "success"
    assert states["scope"] == "skipped"
    assert {s for t, s in states.items() if t.startswith("dbt.")} == {"skipped"}
    assert states["publish"] == "skipped"
    assert states["publication_blocked"] == "skipped"
    assert states["report"] == "success"
    assert "outcome-nothing-new" in page.read_text()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(skipped,)] = con.sql(
            "select count(*) from raw._elt_runs where status = 'skipped' and command = 'build'"
        ).fetchall()
        assert skipped == 1


@pytest.mark.slow
def test_a_failing_dbt_test_fails_the_run_and_stops_downstream(airflow: Any) -> None:
    # 12% of CSV lines malformed: the pipeline-health error test fails (quarantine > 5%)
    af, _ = airflow(clean(wrong_column_count=0.12))
    result = af.dags_test()
    assert af.dag_run_state() == "failed", result.stdout[-3000:]
    states = af.task_states()
    assert states["dbt.rpt_pipeline_health.test"] == "failed"
    assert states["docs"] == "upstream_failed"
    assert states["load"] == "success"
    # nothing published; the blocked publication recorded the night and raised the alert
    assert states["publish"] == "upstream_failed"
    assert states["publication_blocked"] == "failed"
    assert "not published: the load or a dbt task of" in result.stdout + result.stderr
    # the other marts, which do not depend on the failed node, were still built
    assert states["dbt.fct_order_items.run"] == "success"
    # the morning page was still written, and it names the failed test
    assert states["report"] == "success"
    page = (af.home.parent / "report.html").read_text()
    assert "pipeline_health_quarantine_rate_error" in page
