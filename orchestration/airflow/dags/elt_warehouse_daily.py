"""The warehouse's daily run on Apache Airflow 3: load -> scope -> dbt (seeds, snapshots, models and
their tests, rendered by Cosmos) -> the all-rows tests (weekly) -> publish -> docs, and the
monitoring page -> (optional) elementary report.

`scope` skips the rest of the night when no file arrived since the last published night (it
records the night as "nothing new"); on other nights Cosmos runs every model's task (the
node-level scoping of `elt daily`, only what new files reach, is not applied here).
`all_rows_tests` runs every test on every row once every ELT_ALL_ROWS_EVERY_DAYS days.

Every dbt task's results go to the run history (raw._elt_runs, _elt_run_nodes) as it ends,
tagged with the DAG run; `elt load` records itself. `report` (`elt report`) runs after
`publish` whatever happened (trigger rule all_done), so the morning page shows a failed
night too.

Write-audit-publish: the dbt tasks write the build area only; `publish` runs once every dbt
task upstream of it succeeded (Airflow's all_success), then audits the numbers (the diff
against what analysts read and its gates, docs/operations.md#the-audit) and switches analysts
to the new build, or fails with the reasons. When the load or a dbt task failed, `publish`
does not run, analysts keep the version they have, and `publication_blocked` records the
night's outcome and raises the alert (`elt publish --failed-step`).

Configuration comes from the environment of the Airflow deployment, not from this file:

    ELT_ENV                     dev, ci or prod (default prod): schema names (docs/operations.md);
                                its settings file environments/<env>.env is loaded as `elt` loads it
    ELT_TARGET                  duckdb (default) or postgres: the dbt target and the loader's
    ELT_LOAD_TARGET             the loader's target (default: as `elt load` chooses, the target's
                                `_loader` twin where profiles.yml has one: postgres_loader)
    ELT_DATA_DIR                where the extracts land (default <project>/data)
    ELT_DUCKDB_PATH             the DuckDB file (default <project>/warehouse/warehouse.duckdb)
    ELT_PG_*                    PostgreSQL connection (see profiles.yml)
    ELT_DAG_SCHEDULE            cron or preset (default @daily); ELT_DAG_CATCHUP=1 to backfill
    ELT_DAG_RETRIES             retries per task (default 2)
    ELT_DAG_RETRY_DELAY_SECONDS delay between retries (default 300)
    ELT_REPORT_PATH             the monitoring page (default <project>/artifacts/report/<env>-<target>.html)
    ELT_ELEMENTARY_PACKAGES     set: elementary monitors run and the report task is added
    ELT_PROJECT_DIR             the repository (default: three folders above this file)

A task that fails stops everything downstream of it: a model whose tests fail does not feed
the marts built on it, and the docs are not refreshed over a broken run; the report is
(all_done), so the page always says the night's outcome.
The load is retried only when a retry can succeed: `elt load` exits 3 for a transient error
(connection lost, database busy); bad files (1) and bad settings (2) fail the task at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import InvocationMode, LoadMode, TestBehavior, TestIndirectSelection

from elt.environment import apply_settings, label
from elt.warehouse.profile import load_loader_target

PROJECT = Path(os.environ.get("ELT_PROJECT_DIR", Path(__file__).resolve().parents[3])).resolve()
TARGET = os.environ.get("ELT_TARGET", "duckdb")
if TARGET not in ("duckdb", "postgres"):
    raise ValueError(f"ELT_TARGET must be duckdb or postgres, got {TARGET!r}")
DATA_DIR = Path(os.environ.get("ELT_DATA_DIR", PROJECT / "data")).resolve()
DUCKDB_PATH = Path(
    os.environ.get("ELT_DUCKDB_PATH", PROJECT / "warehouse" / "warehouse.duckdb")
).resolve()
ELEMENTARY = os.environ.get("ELT_ELEMENTARY_PACKAGES", "")
BIN = Path(sys.executable).parent  # elt, dbt and edr of the environment Airflow runs in

# Paths made absolute: Cosmos runs dbt in a copy of the project, where relative ones break
# (dbt's target path stays <project>/target: a shared DBT_TARGET_PATH would hand Cosmos's
# per-task project copies a partial-parse file pointing at another task's deleted copy)
ENV = {
    "ELT_ENV": os.environ.get("ELT_ENV", "prod"),
    "ELT_TARGET": TARGET,
    "ELT_DATA_DIR": str(DATA_DIR),
    "ELT_DUCKDB_PATH": str(DUCKDB_PATH),
    "DBT_PROFILES_DIR": str(PROJECT),
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
}

# the environment's settings file, as `elt` loads it (a variable Airflow already has wins)
_process = {**os.environ, **ENV}
_settings = apply_settings(PROJECT, _process)
ENV.update({k: _process[k] for k in (_settings.from_file if _settings else ())})

default_args = {
    "owner": "data-engineering",
    "retries": int(os.environ.get("ELT_DAG_RETRIES", "2")),
    "retry_delay": dt.timedelta(seconds=int(os.environ.get("ELT_DAG_RETRY_DELAY_SECONDS", "300"))),
    "execution_timeout": dt.timedelta(hours=2),
}


def shell(*args: object) -> str:
    return " ".join(shlex.quote(str(a)) for a in args)


def elt_task(task_id: str, doc: str, command: str, *options: object, **kwargs: Any) -> BashOperator:
    """A task running `elt COMMAND` on the DAG's target and project, then ``options``."""
    return BashOperator(
        task_id=task_id,
        doc_md=doc,
        bash_command=shell(
            BIN / "elt",
            command,
            "--target",
            TARGET,
            "--project-dir",
            PROJECT,
            "--profiles-dir",
            PROJECT,
            *options,
        ),
        env=ENV,
        append_env=True,
        cwd=str(PROJECT),
        pre_execute=release_duckdb,
        **kwargs,
    )


TRANSIENT_EXIT = 3  # elt load: connection lost, database busy (elt/errors.py)


class LoadOperator(BashOperator):
    """`elt load`, retried only on a transient error; a failure a retry cannot mend fails now."""

    def execute(self, context: Any) -> Any:
        result = self.subprocess_hook.run_command(
            command=["bash", "-c", self.bash_command],
            env=self.get_env(context),
            output_encoding=self.output_encoding,
            cwd=self.cwd,
        )
        if result.exit_code == 0:
            return result.output
        if result.exit_code == TRANSIENT_EXIT:
            raise AirflowException(f"elt load: transient error (exit {result.exit_code}); retrying")
        raise AirflowFailException(
            f"elt load failed for good (exit {result.exit_code}: bad files 1, bad settings 2); a retry would fail "
            "the same way, see the log"
        )


def release_duckdb(context: object) -> None:
    """Close dbt's in-process DuckDB database before a task that starts dbt in a subprocess.

    Cosmos runs dbt inside the task's process (dbtRunner), and dbt-duckdb keeps the database
    open for the life of the process. Under a real executor each task has a process of its
    own, so this does nothing; under `airflow dags test`, where every task shares one process,
    the open database would hold DuckDB's file lock against the subprocess.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@contextlib.contextmanager
def settings(values: dict[str, str]) -> Iterator[None]:
    """The tasks' environment (ENV) in this process, for code that runs here, not in dbt."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


with settings(ENV):
    # the loader's login, chosen by the library as `elt load` chooses it
    LOAD_TARGET = (
        os.environ.get("ELT_LOAD_TARGET") or load_loader_target(PROJECT, PROJECT, None).name
    )


def record_dbt_run(project_dir: str, context: Any = None, **_: Any) -> None:
    """Cosmos's callback after each dbt task (success or failure): the task's run_results.json
    into the run history, tagged with the DAG run. A history that cannot be written is
    logged, and the task's own outcome stands."""
    from elt.errors import LoaderError
    from elt.history.runs import context_for, from_dbt_results
    from elt.loader.run import record

    log = logging.getLogger("elt.history")
    results = Path(project_dir) / "target" / "run_results.json"
    if not results.is_file():
        log.warning("no %s: dbt stopped before running a node; nothing to record", results)
        return
    release_duckdb(context)  # dbt's in-process DuckDB would hold the file against the recorder
    run_id = str(context["run_id"]) if context else None
    try:
        with settings(ENV):
            loader = load_loader_target(PROJECT, PROJECT, LOAD_TARGET)
            run = from_dbt_results(
                results,
                dataclasses.replace(
                    context_for(loader.name, PROJECT, label()), orchestrator_run_id=run_id
                ),
            )
            new = record(run, loader)
    except LoaderError as exc:
        log.warning("the run history misses this dbt task: %s", exc)
        return
    log.info("run history: %s %s", "recorded" if new else "already had", run.describe())


with DAG(
    dag_id="elt_warehouse_daily",
    description="Load the day's extracts, build and test the star schema, refresh the docs.",
    schedule=os.environ.get("ELT_DAG_SCHEDULE", "@daily"),
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=os.environ.get("ELT_DAG_CATCHUP", "") in ("1", "true"),
    max_active_runs=1,
    # DuckDB has one writer at a time: one task at a time on it
    max_active_tasks=1 if TARGET == "duckdb" else 4,
    dagrun_timeout=dt.timedelta(hours=6),
    default_args=default_args,
    tags=["elt", "dbt", TARGET],
    doc_md=__doc__,
) as dag:
    load = LoadOperator(
        task_id="load",
        doc_md="`elt load`: new files of the data directory into the raw schema (JSON-lines log).",
        bash_command=shell(
            BIN / "elt",
            "load",
            "--target",
            LOAD_TARGET,
            "--data-dir",
            DATA_DIR,
            "--project-dir",
            PROJECT,
            "--profiles-dir",
            PROJECT,
            "--quiet",
            "--log-json",
            "-",
        ),
        env=ENV,
        append_env=True,
        cwd=str(PROJECT),
        execution_timeout=dt.timedelta(hours=1),
    )

    scope = elt_task(
        "scope",
        "`elt scope`: what tonight's files reach. No file since the last published night: the "
        "night is recorded as nothing new (run history, `elt status`) and the task exits 99, "
        "which skips the build and the publication; analysts keep their version.",
        "scope",
        "--nothing-new-exit-code",
        "99",
        skip_on_exit_code=99,
    )

    manifest = PROJECT / "target" / "manifest.json"
    dbt = DbtTaskGroup(
        group_id="dbt",
        project_config=ProjectConfig(
            dbt_project_path=PROJECT,
            manifest_path=manifest if manifest.is_file() else None,
            env_vars=ENV,
            install_dbt_deps=False,  # no packages.yml: the optional ones come from a folder
        ),
        profile_config=ProfileConfig(
            profile_name="elt_warehouse",
            target_name=TARGET,
            profiles_yml_filepath=PROJECT / "profiles.yml",
        ),
        execution_config=ExecutionConfig(
            dbt_executable_path=BIN / "dbt",
            # dbt runs inside the task's process (dbtRunner): no interpreter start per task
            invocation_mode=InvocationMode.DBT_RUNNER,
            # a model's test task runs the tests of that model only; tests that read several
            # models (the reconciliations) get tasks of their own after all their parents
            test_indirect_selection=TestIndirectSelection.CAUTIOUS,
        ),
        render_config=RenderConfig(
            # the manifest when `dbt parse` has written one (make airflow-test does), else dbt ls
            load_method=LoadMode.AUTOMATIC,
            test_behavior=TestBehavior.AFTER_EACH,  # a task group per model: run, then its tests
            should_detach_multiple_parents_tests=True,
            emit_datasets=False,
        ),
        # each dbt task's results into the run history, as the task ends
        operator_args={"append_env": True, "callback": record_dbt_run},
        default_args=default_args,
    )

    all_rows_tests = elt_task(
        "all_rows_tests",
        "`elt test-all-rows --if-due`: on the all-rows night (every ELT_ALL_ROWS_EVERY_DAYS "
        "days, 7), every test on every row, not only the new loads; a failure blocks the "
        "publication. Other nights it says so and passes.",
        "test-all-rows",
        "--if-due",
    )

    docs = BashOperator(
        task_id="docs",
        doc_md="`dbt docs generate`, then `elt docs-pages`: the docs site in target/, with its "
        "column-lineage page and star-schema pictures (as `make docs-generate`).",
        # through `elt dbt`: dbt with the environment's settings, as make runs it
        bash_command=shell(
            BIN / "elt", "dbt", "docs", "generate", "--target", TARGET, "--project-dir", PROJECT
        )
        + " && "
        + shell(BIN / "elt", "docs-pages", "--target", TARGET, "--project-dir", PROJECT),
        env=ENV,
        append_env=True,
        cwd=str(PROJECT),
        pre_execute=release_duckdb,
    )

    publish = elt_task(
        "publish",
        "`elt publish`: analysts switched to this build, all marts at once (runs only when every "
        "dbt task passed); the night's mark kept for tomorrow's scope.",
        "publish",
        "--audited-by",
        "airflow:{{ dag.dag_id }}/{{ run_id }}",
        "--scope",
    )

    blocked = elt_task(
        "publication_blocked",
        "The load or a dbt task failed: nothing is published (analysts keep the version they "
        "read); `elt publish --failed-step` records the night's outcome for `elt status` and "
        "the page, and runs the alert hook (ELT_ALERT_COMMAND).",
        "publish",
        "--failed-step",
        "the load or a dbt task of {{ run_id }} failed",
        trigger_rule="one_failed",
        retries=0,
    )

    report = elt_task(
        "report",
        "`elt report`: the monitoring page (last runs and what failed, tests, run times, "
        "sources, business KPIs), after the publish or the blocked publication.",
        "report",
        trigger_rule="all_done",
    )

    load >> scope >> dbt >> all_rows_tests >> publish >> docs
    [load, scope, dbt, all_rows_tests] >> blocked
    [publish, blocked] >> report

    if ELEMENTARY:
        elementary_report = BashOperator(
            task_id="elementary_report",
            doc_md="elementary's models and `edr report` (needs the observe extra).",
            bash_command=shell(
                BIN / "elt",
                "dbt",
                "run",
                "--select",
                "elementary",
                "--target",
                TARGET,
                "--project-dir",
                PROJECT,
            )
            + " && "
            + shell(
                BIN / "edr",
                "report",
                "--profiles-dir",
                PROJECT,
                "--profile-target",
                TARGET,
                "--config-dir",
                PROJECT / "observability" / "edr",
                "--target-path",
                PROJECT / "target" / "edr",
                "--file-path",
                PROJECT / "artifacts" / "elementary" / f"report-{TARGET}.html",
                "--open-browser",
                "false",
            ),
            env={**ENV, "ELT_ELEMENTARY_PACKAGES": ELEMENTARY, "DBT_PACKAGES_FOLDER": ELEMENTARY},
            append_env=True,
            cwd=str(PROJECT),
            pre_execute=release_duckdb,
        )
        docs >> elementary_report
