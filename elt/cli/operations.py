"""The commands around the night: alerts, the run history, metrics, the monitoring page, the
environment's settings, dbt with them, Spark's local cluster and PostgreSQL's set-up."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from elt.cli.base import DUCKDB_WAIT, Context, UserError, context_options, lock_timeout_option, main
from elt.cli.render import print_rows
from elt.environment import Settings
from elt.errors import LoaderError


@main.command("alert")
@click.option(
    "--step", default="pipeline", show_default=True, help="Name of the step, for the message."
)
@click.option(
    "--exit-code", type=int, default=0, show_default=True, help="The step's exit code (passed on)."
)
@click.option(
    "--run-results",
    type=click.Path(path_type=Path),
    default=None,
    help="dbt's run_results.json of the step, to name the failing and warning nodes.",
)
@click.option(
    "--command",
    envvar="ELT_ALERT_COMMAND",
    default=None,
    help="Shell command to run when there is something to report; gets the summary as JSON "
    "on stdin [env ELT_ALERT_COMMAND].",
)
@click.option(
    "--on-warn/--no-on-warn",
    envvar="ELT_ALERT_ON_WARN",
    default=False,
    show_default=True,
    help="Also alert when the step passed with warnings [env ELT_ALERT_ON_WARN].",
)
def alert_cmd(
    step: str, exit_code: int, run_results: Path | None, command: str | None, on_warn: bool
) -> None:
    """Report a failed step or failing dbt tests, run the alert hook, exit with the step's code."""
    from elt.alert import after_step

    for line in after_step(step, exit_code, run_results, command, on_warn):
        click.echo(line, err=True)
    sys.exit(exit_code)


@main.command("record-run")
@context_options()
@click.option(
    "--run-results",
    type=click.Path(path_type=Path),
    default=Path("target/run_results.json"),
    show_default=True,
    help="The dbt invocation's run_results.json.",
)
@click.option(
    "--exit-code",
    type=int,
    default=None,
    help="dbt's exit code: a non-zero one makes the run an error even when every node passed.",
)
@lock_timeout_option(DUCKDB_WAIT)
def record_run_cmd(
    ctx: Context,
    run_results: Path,
    exit_code: int | None,
    lock_timeout: float,
) -> None:
    """Append a dbt invocation to the run history (raw._elt_runs and raw._elt_run_nodes).

    Written as the loader (the loader's role owns the history, as it owns the manifest: the
    default target's `_loader` twin where the profile has one). Recording the same
    invocation again adds nothing. `elt load` records itself.
    """
    from elt.errors import LoaderError
    from elt.history.runs import context_for, from_dbt_results
    from elt.loader.run import record

    try:
        target = ctx.loader_target
        run = from_dbt_results(
            run_results, context_for(target.name, ctx.project.dir, ctx.env_label), exit_code
        )
        new = record(run, target, lock_timeout)
    except LoaderError as exc:
        raise UserError(f"record-run: {exc}", exc.exit_code) from exc
    click.echo(
        f"record-run: {'recorded' if new else 'already recorded, nothing added:'} {run.describe()}"
    )


@main.command(
    "metrics",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@context_options()
@click.option(
    "--build",
    "on_build",
    is_flag=True,
    help="Query the build area (<prefix>marts) as dbt's role, not the published marts.",
)
@click.argument("mf_args", nargs=-1, type=click.UNPROCESSED)
def metrics_cmd(
    ctx: Context,
    on_build: bool,
    mf_args: tuple[str, ...],
) -> None:
    """MetricFlow (`mf`) on the published marts, as an analyst: `elt metrics query --metrics
    revenue --group-by metric_time__month`, `elt metrics list metrics`, `elt metrics
    validate-configs`. Every argument after the options goes to mf; exits with mf's code.
    """
    from elt.errors import LoaderError
    from elt.semantic_layer import prepare, run_mf

    if not mf_args:
        raise UserError(
            "metrics: name an mf command, e.g. `elt metrics query --metrics revenue --group-by metric_time__month`"
        )
    try:
        folder, env = prepare(ctx, published=not on_build)
    except LoaderError as exc:
        raise UserError(f"metrics: {exc}", exc.exit_code) from exc
    sys.exit(run_mf(folder, env, list(mf_args)))


@main.command("report")
@context_options()
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML file to write [default: env ELT_REPORT_PATH, else "
    "artifacts/report/<env>-<target>.html].",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Days of history the charts show.",
)
@lock_timeout_option(DUCKDB_WAIT)
def report_cmd(
    ctx: Context,
    output: Path | None,
    days: int,
    lock_timeout: float,
) -> None:
    """Write the monitoring page: one static HTML file (no server, no network) with the last
    runs and what failed, test results, run times and the slowest models, rows loaded,
    freshness, quarantine and reject rates per source, and the business KPIs of the
    published marts.
    """
    report_step(ctx, output, days, lock_timeout)


def report_step(ctx: Context, output: Path | None, days: int, lock_timeout: float) -> None:
    from elt.report.run import write_report

    path = output or ctx.report_path
    written = write_report(ctx.target, ctx.env, path, days, lock_timeout, ctx.project.dir)
    click.echo(
        f"report: {written.path} ({written.size_bytes / 1e6:.1f} MB; read the warehouse in "
        f"{written.read_seconds:.2f} s, {written.total_seconds:.2f} s in all)"
    )


@main.command("spark-cluster")
@click.argument(
    "action", type=click.Choice(["start", "stop", "status", "thrift-start", "thrift-stop"])
)
@context_options(default_target="spark")
def spark_cluster_cmd(ctx: Context, action: str) -> None:
    """Start, stop or show the local Spark standalone cluster (a master and
    ELT_SPARK_WORKERS workers, 2, on 127.0.0.1; ELT_SPARK_MASTER_PORT, ELT_SPARK_WORKER_CORES,
    ELT_SPARK_WORKER_MEMORY per worker; state
    in ELT_SPARK_DIR/cluster). `start` does nothing when it runs already. `thrift-start`
    starts a Spark Thrift server (ELT_SPARK_THRIFT_PORT, 10000) with the `spark` target's
    settings, for the `spark_thrift` target and BI tools.
    """
    from elt import spark_cluster
    from elt.errors import LoaderError

    try:
        if action == "thrift-start":
            port = spark_cluster.start_thrift(
                dict(ctx.target.settings.get("server_side_parameters") or {})
            )
            click.echo(
                f"spark-cluster: Thrift server on 127.0.0.1:{port} (dbt: --target spark_thrift)"
            )
        elif action == "thrift-stop":
            spark_cluster.stop_thrift()
            click.echo(f"spark-cluster: Thrift server stopped; {spark_cluster.status()}")
        elif action == "start":
            url = spark_cluster.start()
            click.echo(f"spark-cluster: {spark_cluster.status()} (dbt: ELT_SPARK_MASTER={url})")
        elif action == "stop":
            spark_cluster.stop()
            click.echo(f"spark-cluster: stopped; {spark_cluster.status()}")
        else:
            click.echo(f"spark-cluster: {spark_cluster.status()}")
    except LoaderError as exc:
        raise UserError(str(exc)) from exc


@main.command("spark-sql")
@context_options(default_target="spark")
@click.argument("statement")
def spark_sql_cmd(ctx: Context, statement: str) -> None:
    """Run one Spark SQL statement on the Spark warehouse (the target's metastore and tables, a
    local Spark of its own) and print its rows: a query without a cluster or a Thrift server."""
    from elt.warehouse.engines import choose
    from elt.warehouse.spark_catalog import open_catalog

    catalog = choose(ctx.target, {"spark": lambda: open_catalog(ctx.target.settings)}, "spark-sql")
    try:
        columns, rows = catalog.query(statement)
    finally:
        catalog.close()
    print_rows(columns, rows)


@main.command("setup-postgres")
def setup_postgres_cmd() -> None:
    """Create the PostgreSQL warehouse database and its loader, transformer and analyst roles (idempotent).

    Connects as ELT_PG_ADMIN_USER (default postgres) to ELT_PG_HOST:ELT_PG_PORT; the
    database is ELT_PG_DATABASE; role names ELT_PG_{LOADER,TRANSFORMER,ANALYST}_USER,
    passwords (optional) ELT_PG_{LOADER,TRANSFORMER,ANALYST}_PASSWORD.
    """
    from elt.errors import LoaderError
    from elt.pgsetup import Admin, Roles, setup

    try:
        for line in setup(Admin.from_env(), Roles.from_env()):
            click.echo(line)
    except LoaderError as exc:
        raise UserError(str(exc)) from exc


@main.command("env")
@click.option(
    "--command-line",
    "command_line",
    default="",
    metavar="NAMES",
    help="Variables make was given on its command line (make env passes them), to say so.",
)
@click.option(
    "--schema",
    "layer",
    default=None,
    metavar="LAYER",
    help="Print only the schema the environment gives LAYER (marts, analytics, elementary...).",
)
@click.pass_obj
def env_cmd(settings: Settings | None, command_line: str, layer: str | None) -> None:
    """Show the environment (ELT_ENV), its schema prefix and its settings file: each key, its
    effective value and where it came from (file, environment or command line)."""
    from elt.environment import current, label

    if layer:
        click.echo(current().schema(layer))
        return
    name = os.environ.get("ELT_ENV", "dev")
    try:
        prefix = current().prefix or "none"
    except LoaderError as exc:
        prefix = f"unknown: {exc}"
    where = settings.path if settings else f"none (no environments/{name}.env)"
    click.echo(
        f"ELT_ENV={name} (schema prefix: {prefix}; run history: {label()}); settings file {where}"
    )
    if settings is None:
        return
    given = set(command_line.split())
    for key in settings.values:
        origin = "command line" if key in given else settings.origin(key)
        click.echo(f"  {key}={os.environ.get(key, '')}  ({origin})")


@main.command(
    "dbt",
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
    },
)
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def dbt_cmd(dbt_args: tuple[str, ...]) -> None:
    """dbt, with the environment's settings loaded as every elt command has them: `elt dbt
    build --target postgres` (options after dbt's command are dbt's: `elt dbt build --help`).
    The process becomes dbt: its exit code and signals are dbt's own."""
    dbt = Path(sys.executable).with_name("dbt")
    if not dbt.exists():
        raise UserError(f"no dbt beside {sys.executable}: install the project (make venv)")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(dbt, [str(dbt), *dbt_args])
