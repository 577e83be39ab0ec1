"""The night as commands: the build (dbt, recorded, alerting), the whole routine, where the
result is read, and the analysts' saved queries on it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from elt.cli.base import (
    DUCKDB_WAIT,
    Context,
    UserError,
    alert_after,
    context_options,
    lock_timeout_option,
    main,
)
from elt.cli.data import load_step
from elt.cli.operations import report_step
from elt.cli.publication import publish_step, version_store
from elt.cli.render import print_rows

if TYPE_CHECKING:
    from elt.scope import Scope

PASS_ON = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def build_step(ctx: Context, dbt_args: tuple[str, ...], lock_timeout: float) -> int:
    """dbt build, its run into the run history, its failures to the alert hook; dbt's exit
    code. Refused, before dbt starts, when nothing was ever loaded."""
    from elt.errors import LoaderError
    from elt.history.runs import context_for, from_dbt_results
    from elt.loader.run import record
    from elt.night import check_loaded, run_dbt

    check_loaded(ctx.target)
    code = run_dbt(ctx, "build", *dbt_args)
    results = ctx.project.dbt_target_dir / "run_results.json"
    try:
        loader = ctx.night_loader_target
        run = from_dbt_results(
            results, context_for(loader.name, ctx.project.dir, ctx.env_label), code
        )
        new = record(run, loader, lock_timeout)
        click.echo(f"record-run: {'recorded' if new else 'already recorded:'} {run.describe()}")
    except LoaderError as exc:
        click.echo(f"build: the run history misses this build: {exc}", err=True)
    alert_after(ctx, "dbt build", code, results)
    return code


def scope_step(ctx: Context, lock_timeout: float) -> Scope:
    """What tonight builds (printed and saved)."""
    from elt.scope import SCOPE_FILE, tonight

    with version_store(ctx) as store:
        scope = tonight(store, ctx.night_loader_target, ctx.project.dir, lock_timeout)
    click.echo(scope.describe())
    # for the night's later steps: the DAG's, or `elt publish --scope --accept` after a block
    scope.save(ctx.project.dbt_target_dir / SCOPE_FILE)
    return scope


def record_nothing_new(ctx: Context, lock_timeout: float) -> None:
    """The run history's row for a night that built nothing (a build, skipped)."""
    from elt.history.runs import context_for, nothing_new
    from elt.loader.run import record

    loader = ctx.night_loader_target
    run = nothing_new(context_for(loader.name, ctx.project.dir, ctx.env_label))
    record(run, loader, lock_timeout)
    click.echo(f"record-run: recorded {run.describe()}")


@main.command("build", context_settings=PASS_ON)
@context_options()
@lock_timeout_option(DUCKDB_WAIT)
@click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED)
def build_cmd(ctx: Context, lock_timeout: float, dbt_args: tuple[str, ...]) -> None:
    """dbt build (seeds, models, tests, the report snapshot), incremental by load; recorded in
    the run history; failures go to the alert hook (ELT_ALERT_COMMAND). Arguments after the
    options are dbt's (`elt build --select fct_orders+`); exits with dbt's code."""
    sys.exit(build_step(ctx, dbt_args, lock_timeout))


@main.command("scope")
@context_options()
@click.option(
    "--nothing-new-exit-code",
    type=int,
    default=None,
    metavar="N",
    help="When no file arrived: record the night as nothing new (the run history, the "
    "publisher's record, as `elt daily` does) and exit N (Airflow skips a task that exits 99).",
)
@lock_timeout_option(DUCKDB_WAIT)
def scope_cmd(ctx: Context, nothing_new_exit_code: int | None, lock_timeout: float) -> None:
    """What tonight's build covers: the sources that received files since the last published
    night and what they reach, everything (the project changed, the all-rows night), or
    nothing. Saved as <target path>/elt_night_scope.json for `elt test-all-rows --if-due` and
    `elt publish --scope`."""
    night = scope_step(ctx, lock_timeout)
    if night.nothing_new and nothing_new_exit_code is not None:
        record_nothing_new(ctx, lock_timeout)
        publish_step(ctx, keep=None, command=ctx.alert_command, state_dir=None, night=night)
        sys.exit(nothing_new_exit_code)


@main.command("test-all-rows")
@context_options()
@click.option(
    "--if-due",
    is_flag=True,
    help="Only on the all-rows night, as the scope `elt scope` saved says (the DAG's task); "
    "otherwise say why not and exit 0.",
)
@lock_timeout_option(DUCKDB_WAIT)
def test_all_rows_cmd(ctx: Context, if_due: bool, lock_timeout: float) -> None:
    """Every data and unit test on every row (a night's tests look at the new loads only):
    the weekly run `elt daily` makes every ELT_ALL_ROWS_EVERY_DAYS days; recorded in the run
    history; exits with dbt's code."""
    from elt.scope import ALL_ROWS_TESTS, SCOPE_FILE, Scope

    if if_due:
        night = Scope.read(ctx.project.dbt_target_dir / SCOPE_FILE)
        if not night.all_rows:
            click.echo(f"test-all-rows: not tonight ({night.outcome()})")
            return
    sys.exit(build_step(ctx, ALL_ROWS_TESTS, lock_timeout))


@main.command("daily")
@context_options()
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    envvar="ELT_STATE_DIR",
    default=Path("state"),
    show_default=True,
    help="Where a publication keeps its manifest for slim CI [env ELT_STATE_DIR].",
)
@lock_timeout_option(DUCKDB_WAIT)
def daily_cmd(ctx: Context, state_dir: Path, lock_timeout: float) -> None:
    """The nightly routine: load new files, build and test what they reach, publish if the
    audit passes, write the monitoring page always; ends with the night's outcome (`elt status
    --line`).

    The build covers the sources that received files since the last published night and the
    models they reach; everything when the project changed and on the all-rows night (every
    ELT_ALL_ROWS_EVERY_DAYS days, 7: every row tested); nothing when no file arrived (recorded:
    "nothing new", analysts keep their version). A failed load skips the build and is recorded
    as the night's outcome; a failed build still goes to the publisher, whose audit says why
    (one line per reason). Exit 0 when published or nothing was new.
    """
    from elt.warehouse.spark_catalog import shared_session

    # on Spark, one session for the steps before dbt's build and one for those after it
    with shared_session():
        code = night_steps(ctx, state_dir, lock_timeout)
    sys.exit(code)


def night_steps(ctx: Context, state_dir: Path, lock_timeout: float) -> int:
    """`elt daily`'s steps; its exit code."""
    from elt.errors import LoaderError
    from elt.publish.status import status

    loader = ctx.for_target(ctx.night_loader_target.name)  # the loader logs in as itself
    code = load_step(loader, ctx.project.data_dir, lock_timeout=lock_timeout, alert=True)
    keep, command = ctx.publish_keep, ctx.alert_command
    if code == 0:
        night = None
        try:
            night = scope_step(ctx, lock_timeout)
            if night.nothing_new:
                record_nothing_new(ctx, lock_timeout)
                built = 0
            else:
                built = build_step(ctx, night.dbt_args(), lock_timeout)
        except LoaderError as exc:
            click.echo(f"error: {exc}", err=True)
            built = exc.exit_code
        code = publish_step(
            ctx,
            keep=keep,
            command=command,
            state_dir=state_dir,
            build_exit_code=built,
            night=night,
        )
    else:
        publish_step(
            ctx,
            keep=keep,
            command=command,
            state_dir=None,
            failed_step=f"elt load failed (exit {code})",
        )
    try:
        report_step(ctx, None, 90, lock_timeout)
    except LoaderError as exc:
        click.echo(f"error: report: {exc}", err=True)
        code = code or 1
    with version_store(ctx) as store:
        line = status(store).line()
    click.echo("")
    click.echo(line)
    return code


@main.command("where")
@context_options()
def where_cmd(ctx: Context) -> None:
    """Where analysts read the published marts and how to query them (psql, DuckDB, the
    analyses, the docs, the monitoring page, the metrics)."""
    from elt.publish.access import where_to_read

    click.echo("\n".join(where_to_read(ctx)))


@main.command("analyses")
@context_options()
@click.argument("names", nargs=-1)
@click.option(
    "--vars", "variables", default=None, metavar="JSON", help="dbt vars, e.g. '{order_id: 42}'."
)
@click.option("--sql", "show_sql", is_flag=True, help="Print each query as run, not its rows.")
@click.option("--limit", type=int, default=20, show_default=True, help="Rows shown per query.")
def analyses_cmd(
    ctx: Context, names: tuple[str, ...], variables: str | None, show_sql: bool, limit: int
) -> None:
    """Run the saved queries of analyses/ (all, or those NAMEd) on the published marts, as an
    analyst: dbt compiles them, each mart is read in the published schema (never the build
    area), on DuckDB's published file or as PostgreSQL's analyst login."""
    import yaml

    from elt.analyses import compile_analyses, run_analyses

    try:
        given = yaml.safe_load(variables) if variables else None
    except yaml.YAMLError as exc:
        raise UserError(f"--vars is not YAML or JSON: {exc}") from None
    queries = compile_analyses(ctx, list(names), given)
    if show_sql:
        for name, sql in queries.items():
            click.echo(f"-- {name}\n{sql.strip()}\n")
        return
    for result in run_analyses(ctx, queries):
        click.echo(f"{result.name}:")
        print_rows(result.columns, result.rows[:limit])
        if len(result.rows) > limit:
            click.echo(f"(first {limit} of {len(result.rows)} rows; --limit shows more)")
