"""The ``elt`` command: a thin shell over the package's functions."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from elt.generator.config import (
    DEFAULT_DAYS,
    DEFAULT_DRIFT_AFTER_DAYS,
    DEFAULT_MAX_LATE_DAYS,
    DEFAULT_ROWS_PER_FILE,
    DEFAULT_SEED,
    DEFAULT_START,
    MESS_KINDS,
    ConfigError,
    GeneratorConfig,
    parse_date,
    parse_rate,
)
from elt.generator.run import Summary, default_out_dir, generate

if TYPE_CHECKING:
    from elt.environment import Environment
    from elt.loader.run import LoadReport
    from elt.loader.warehouse import FileResult
    from elt.publish.versions import Store

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 130)


class UserError(click.ClickException):
    """A mistake the user can fix: one unwrapped line on stderr (``error: ...``; no markup,
    messages may hold brackets), no traceback, and an exit code an orchestrator can act on
    (2 usage or configuration, 3 transient: see elt/errors.py)."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        # click declares exit_code a class variable; each error here carries its own
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class Commands(click.Group):
    """The ``elt`` group: an error a command did not turn into a message is still one line.

    The project's own error types (a loader, profile or generator error) and the databases'
    errors for a missing, locked or unreachable warehouse are what the user can fix; anything
    else is a bug and keeps its traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        import duckdb

        from elt.errors import LoaderError

        try:
            return super().invoke(ctx)
        except LoaderError as exc:
            raise UserError(str(exc), exc.exit_code) from exc
        except ConfigError as exc:
            raise UserError(str(exc)) from exc
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            raise UserError(f"DuckDB: {exc}", 3 if "lock" in str(exc).lower() else 2) from exc


@click.group(cls=Commands)
@click.version_option(package_name="elt-warehouse")
def main() -> None:
    """ELT warehouse tools: generate sample data, load raw files."""


RATES_HELP = "\n".join(f"  {k:<22} {v[0]:<7} {v[1]}" for k, v in MESS_KINDS.items())


@main.command(
    epilog=f"Messiness kinds (default rate, meaning):\n\n{RATES_HELP}",
    context_settings={"max_content_width": 120},
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory [env ELT_DATA_DIR, default ./data].",
)
@click.option(
    "--scale",
    type=float,
    default=0.01,
    show_default=True,
    help="Volume: 1 ≈ 1M order lines per 90 days.",
)
@click.option(
    "--days",
    type=int,
    default=DEFAULT_DAYS,
    show_default=True,
    help="Number of extract days to generate.",
)
@click.option(
    "--start",
    "start_text",
    default=None,
    help=f"First day, YYYY-MM-DD [default {DEFAULT_START}; when continuing, the day after the dataset's last].",
)
@click.option(
    "--seed",
    type=int,
    default=DEFAULT_SEED,
    show_default=True,
    help="Random seed; same seed and options give identical files.",
)
@click.option(
    "--rate",
    "rates",
    multiple=True,
    metavar="KIND=RATE",
    help="Set one messiness rate (repeatable); kinds below.",
)
@click.option("--clean", is_flag=True, help="Set every messiness rate to 0 (before --rate).")
@click.option(
    "--max-late-days",
    type=int,
    default=DEFAULT_MAX_LATE_DAYS,
    show_default=True,
    help="Latest a late row may arrive.",
)
@click.option(
    "--drift-after-days",
    type=int,
    default=DEFAULT_DRIFT_AFTER_DAYS,
    show_default=True,
    help="Orders gain a coupon_code column this many days after the start; -1 for never.",
)
@click.option(
    "--rows-per-file",
    type=int,
    default=DEFAULT_ROWS_PER_FILE,
    show_default=True,
    help="Split a day's extract into part files of at most this many rows.",
)
@click.option(
    "--continue",
    "cont",
    is_flag=True,
    help="Append the next days to the existing dataset in --out.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def generate_cmd(
    out_dir: Path | None,
    scale: float,
    days: int,
    start_text: str | None,
    seed: int,
    rates: tuple[str, ...],
    clean: bool,
    max_late_days: int,
    drift_after_days: int,
    rows_per_file: int,
    cont: bool,
    quiet: bool,
) -> None:
    """Generate the retailer's raw extracts (CSV, JSON lines, Parquet), one folder per day."""
    out_dir = out_dir or default_out_dir()
    start = parse_date(start_text, "--start") if start_text else None
    rate_map = {k: (0.0 if clean else v[0]) for k, v in MESS_KINDS.items()}
    rate_map.update(dict(parse_rate(r) for r in rates))
    first = start or DEFAULT_START
    if drift_after_days < -1:
        raise ConfigError(
            f"--drift-after-days must be -1 (never) or at least 0, got {drift_after_days}"
        )
    cfg = GeneratorConfig(
        scale=scale,
        seed=seed,
        start=first,
        rates=rate_map,
        max_late_days=max_late_days,
        drift_date=None if drift_after_days < 0 else first + dt.timedelta(days=drift_after_days),
        rows_per_file=rows_per_file,
    )
    with Progress(
        TextColumn("[bold]generating[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        # a bar only on a terminal: in a log (cron, a container) it is noise
        disable=quiet or not err.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=days)

        def on_day(day: dt.date, done: int) -> None:
            progress.update(task, completed=done, description=day.isoformat())

        summary = generate(out_dir, cfg, days, start=start, cont=cont, on_day=on_day)
    print_summary(summary)


main.add_command(generate_cmd, name="generate")


def _apply(
    *options: Callable[[Callable[..., None]], Callable[..., None]],
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def apply(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def target_options() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Which warehouse: the dbt target, the project and its profiles (every warehouse command)."""
    return _apply(
        click.option(
            "--target",
            default=None,
            help="dbt target of profiles.yml [default: the profile's target, env ELT_TARGET].",
        ),
        click.option(
            "--project-dir",
            type=click.Path(path_type=Path),
            default=Path("."),
            show_default=True,
            help="The dbt project (its sources carry the loader settings).",
        ),
        click.option(
            "--profiles-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Folder of profiles.yml [env DBT_PROFILES_DIR, default the project].",
        ),
    )


def warehouse_options(verb: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options `elt load` and `elt archive` share: the warehouse, the files, the tables."""
    return _apply(
        target_options(),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Where the files are [env ELT_DATA_DIR, default ./data].",
        ),
        click.option(
            "--table",
            "tables",
            multiple=True,
            metavar="SOURCE.TABLE",
            help=f"{verb} only this source table (repeatable).",
        ),
    )


def duckdb_wait_option() -> Callable[[Callable[..., None]], Callable[..., None]]:
    """--lock-timeout of the commands that open a DuckDB warehouse dbt or the loader may hold."""
    return click.option(
        "--lock-timeout",
        type=float,
        default=60.0,
        show_default=True,
        help="Seconds to wait while dbt or the loader holds a DuckDB warehouse.",
    )


@main.command("load")
@warehouse_options("Load")
@click.option(
    "--reload",
    is_flag=True,
    help="Reload files whose content changed since they were loaded (replaces their rows).",
)
@click.option(
    "--max-quarantine-rate",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    help="Fail a file when more than this share of its records is quarantined (0.05 = 5%).",
)
@click.option(
    "--lock-timeout",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds to wait while another loader holds the target.",
)
@click.option(
    "--workers", type=int, default=2, show_default=True, help="Tables loaded in parallel."
)
@click.option(
    "--verify",
    is_flag=True,
    help="Rehash every file, not only those whose size or modification time changed.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--log-json",
    type=click.File("a", lazy=False),
    default=None,
    envvar="ELT_LOG_JSON",
    help="Also write JSON-lines events (one per file, plus plan and summary) to this file; "
    "'-' for stdout instead of the summary table [env ELT_LOG_JSON].",
)
def load_cmd(
    target: str | None,
    data_dir: Path | None,
    project_dir: Path,
    profiles_dir: Path | None,
    tables: tuple[str, ...],
    reload: bool,
    max_quarantine_rate: float,
    lock_timeout: float,
    workers: int,
    verify: bool,
    quiet: bool,
    log_json: IO[str] | None,
) -> None:
    """Load every new file of every configured source into the raw schema of a dbt target.

    Exit codes: 0 every file loaded; 1 some files failed (fix the files; a retry fails the
    same way); 2 a configuration or usage error; 3 a transient error (connection lost,
    database busy or down): retry, the run resumes where it stopped.
    """
    from elt.errors import LoaderError
    from elt.loader.events import EventLog
    from elt.loader.run import LoadOptions, load

    events = EventLog(log_json) if log_json is not None else None

    opts = LoadOptions(
        project_dir=project_dir,
        data_dir=data_dir or default_out_dir(),
        profiles_dir=profiles_dir,
        target=target,
        reload=reload,
        max_quarantine_rate=max_quarantine_rate,
        lock_timeout=lock_timeout,
        workers=workers,
        tables=tables,
        verify=verify,
    )
    with Progress(
        TextColumn("[bold]loading[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def on_plan(new: int, skipped: int) -> None:
            progress.update(task, total=new)
            if events:
                events.planned(target or "(profile default)", str(opts.data_dir), new, skipped)

        def on_file(result: FileResult) -> None:
            if events:
                events.file(result)
            progress.update(task, advance=1, description=result.file.rel)
            if result.status == "failed":
                progress.console.print(
                    f"[red]failed[/] {result.message}", markup=True, highlight=False, soft_wrap=True
                )

        try:
            report = load(opts, on_plan=on_plan, on_file=on_file)
        except LoaderError as exc:
            progress.stop()
            if events:
                events.error(str(exc))
            raise UserError(str(exc), exc.exit_code) from exc
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
        if events:
            events.emit("load_warning", "warning", message=warning)
    if events:
        events.finished(report)
    if log_json is None or getattr(log_json, "name", "") != "<stdout>":
        print_load_report(report)
    sys.exit(0 if report.ok else 1)


@main.command("archive")
@warehouse_options("Archive")
@click.option(
    "--archive-dir",
    type=click.Path(path_type=Path),
    envvar="ELT_ARCHIVE_DIR",
    default=None,
    help="Where archived files go [env ELT_ARCHIVE_DIR].",
)
@click.option(
    "--older-than",
    type=click.IntRange(min=0),
    default=None,
    metavar="DAYS",
    help="Files loaded more than DAYS ago, instead of each source's meta.elt.retention.",
)
@click.option(
    "--delete", is_flag=True, help="With --older-than: delete the files instead of archiving them."
)
@click.option("--restore", is_flag=True, help="Write archived files back into the data directory.")
@click.option("--lock-timeout", type=float, default=60.0, show_default=True)
def archive_cmd(
    target: str | None,
    data_dir: Path | None,
    archive_dir: Path | None,
    project_dir: Path,
    profiles_dir: Path | None,
    tables: tuple[str, ...],
    older_than: int | None,
    delete: bool,
    restore: bool,
    lock_timeout: float,
) -> None:
    """Move loaded files out of the data directory after their retention (storage cost).

    Archived files (zstd Parquet of their lines, or as they are when already compressed)
    restore byte for byte with --restore, so raw can always be rebuilt from files. Deleted
    files cannot: their rows then live only in the warehouse and its backups. The manifest
    keeps every file's row either way, so nothing is loaded twice.
    """
    from elt.loader.archive import run_archive

    if delete and older_than is None:
        raise click.UsageError(
            "--delete goes with --older-than (a source's own retention says archive or delete)"
        )
    done = run_archive(
        project_dir,
        data_dir or default_out_dir(),
        archive_dir,
        profiles_dir,
        target,
        tables,
        older_than,
        delete,
        restore,
        lock_timeout,
    )
    counts: dict[str, int] = {}
    for a in done:
        counts[a.action] = counts.get(a.action, 0) + 1
        if a.action == "skipped":
            click.echo(f"skipped {a.rel}: {a.message}", err=True)
    before = sum(a.bytes_before for a in done if a.action in ("archived", "deleted"))
    after = sum(a.bytes_after for a in done if a.action == "archived")
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "nothing to do"
    click.echo(
        f"{summary}; {before / 1e6:.1f} MB left the data directory, {after / 1e6:.1f} MB archived"
    )
    if counts.get("deleted"):
        click.echo(
            "deleted files cannot be loaded again: their raw rows now live only in the warehouse "
            "(keep its backups)",
            err=True,
        )


@main.command("backup")
@target_options()
@click.option(
    "--to",
    "root",
    type=click.Path(path_type=Path),
    required=True,
    envvar="ELT_BACKUP_DIR",
    help="Folder to write the backup into (a subfolder per backup) [env ELT_BACKUP_DIR].",
)
def backup_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, root: Path
) -> None:
    """Back up what the files cannot give back: the manifest, the quarantine, raw, the snapshot.

    DuckDB: a copy of the warehouse file, taken under its lock. PostgreSQL: pg_dump of the
    raw and snapshots schemas as ELT_PG_ADMIN_USER, under the loader's lock. Checked: the
    copy's row counts (DuckDB) or pg_restore --list (PostgreSQL); recorded in backup.json.
    """
    from elt.backup import backup
    from elt.warehouse.profile import load_target

    b = backup(load_target(project_dir, profiles_dir, target), root)
    click.echo(
        f"backup {b.folder}: {len(b.rows)} tables, {sum(b.rows.values()):,} rows, "
        f"{b.size / 1e6:.1f} MB in {b.seconds:.1f} s"
    )


@main.command("restore")
@target_options()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, folder: Path
) -> None:
    """Restore a backup folder (written by `elt backup`) into the target, checked against its
    record; then run `dbt build` to remake what is derived."""
    from elt.backup import restore
    from elt.warehouse.profile import load_target

    b = restore(load_target(project_dir, profiles_dir, target), folder)
    click.echo(
        f"restored {folder} (taken {b.created_at}): {len(b.rows)} tables, "
        f"{sum(b.rows.values()):,} rows in {b.seconds:.1f} s; now run dbt build"
    )


@contextlib.contextmanager
def version_store(
    target: str | None, project_dir: Path, profiles_dir: Path | None, env: Environment | None = None
) -> Iterator[Store]:
    """The target's published versions; a LoaderError inside ends the command with its
    message and exit code (the store closed)."""
    from elt.publish.run import open_store
    from elt.warehouse.profile import load_target

    store = open_store(load_target(project_dir, profiles_dir, target), env)
    try:
        yield store
    finally:
        store.close()


def _dbt_artifact(project_dir: Path, given: Path | None, name: str) -> Path:
    if given is not None:
        return given
    return Path(os.environ.get("DBT_TARGET_PATH") or project_dir / "target") / name


@main.command("publish")
@target_options()
@click.option(
    "--run-results",
    type=click.Path(path_type=Path),
    default=None,
    help="The build's run_results.json [default: DBT_TARGET_PATH or <project>/target].",
)
@click.option(
    "--manifest",
    type=click.Path(path_type=Path),
    default=None,
    help="The build's manifest.json [default: beside the run results].",
)
@click.option(
    "--keep",
    type=click.IntRange(min=2),
    envvar="ELT_PUBLISH_KEEP",
    default=3,
    show_default=True,
    help="Versions to keep for rollback, the new one included [env ELT_PUBLISH_KEEP].",
)
@click.option(
    "--command",
    envvar="ELT_ALERT_COMMAND",
    default=None,
    help="Alert hook run when publication is blocked [env ELT_ALERT_COMMAND] (see elt alert).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    envvar="ELT_STATE_DIR",
    default=None,
    help="Also keep the published build's manifest as STATE_DIR/<env>/manifest.json, the state "
    "slim CI compares against (make ci-slim) [env ELT_STATE_DIR].",
)
@click.option(
    "--audited-by",
    default=None,
    metavar="RUN",
    help="The orchestrator audited the build node by node (Airflow runs this only when every "
    "dbt task passed): skip run_results.json, record RUN as the build's id.",
)
@click.option(
    "--accept",
    multiple=True,
    metavar="CHECK",
    help="Publish although this gate blocks (its name as printed, e.g. anomaly:fct_order_items."
    "net_revenue_usd, or a prefix such as anomaly:fct_order_items); recorded with the version "
    "and for this version only. Failed dbt tests cannot be accepted.",
)
@click.option(
    "--reason", default=None, help="Why the accepted checks are fine (required with --accept)."
)
@click.option(
    "--failed-step",
    default=None,
    metavar="TEXT",
    help="Record that the night stopped before publication (e.g. 'elt load failed (exit 1)'): "
    "analysts keep their version; exit 1.",
)
@click.option(
    "--build-exit-code",
    type=int,
    default=None,
    hidden=True,
    help="The exit code of the build before (make daily): a failed build whose results file "
    "still holds an earlier, passing build is a failure, never a publication.",
)
def publish_cmd(
    target: str | None,
    project_dir: Path,
    profiles_dir: Path | None,
    run_results: Path | None,
    manifest: Path | None,
    keep: int,
    command: str | None,
    state_dir: Path | None,
    audited_by: str | None,
    accept: tuple[str, ...],
    reason: str | None,
    failed_step: str | None,
    build_exit_code: int | None,
) -> None:
    """Audit the last `dbt build` and publish it to analysts (write-audit-publish).

    The audit: every node of a full build passed; the diff of every mart against the version
    analysts read; the gates on its numbers (each new or changed day's totals against the
    published history, restated history, the volume of each source). A build that fails is
    not published: one line per reason and the runbook step, the alert hook runs, analysts
    keep their version, exit 1. While `elt rollback` holds analysts on a version, publication
    is refused. Published: the marts are copied into a new version and analysts switched to
    it at once (PostgreSQL: the views of <prefix>analytics in one transaction; DuckDB: the
    file published.duckdb replaced by a rename).
    """
    from elt.alert import Summary, notify
    from elt.environment import current
    from elt.publish import audit as auditing
    from elt.publish.run import publish_night, record_failure

    env = current()
    with version_store(target, project_dir, profiles_dir, env) as store:
        if failed_step:
            outcome = record_failure(store, failed_step)
        else:
            results = _dbt_artifact(project_dir, run_results, "run_results.json")
            manifest = manifest or results.with_name("manifest.json")
            checked = (
                auditing.audited_by(audited_by, manifest)
                if audited_by
                else auditing.audit(results, manifest)
            )
            if build_exit_code and checked.passed:
                outcome = record_failure(
                    store,
                    f"dbt build failed (exit {build_exit_code}) before writing results of its own",
                )
            else:
                outcome = publish_night(
                    store, checked, manifest, env, project_dir, keep, list(accept), reason
                )
    for line in outcome.lines:
        click.echo(line, err=outcome.exit_code != 0)
    if outcome.exit_code != 0:
        reasons = outcome.lines[1:] if len(outcome.lines) > 1 else outcome.lines
        summary = Summary(
            "elt publish",
            1,
            [
                {"name": r.strip(" -"), "status": outcome.status, "message": r.strip(" -")}
                for r in reasons
            ],
            [],
            None,
        )
        if command and notify(summary, command) != 0:
            click.echo("publish: the alert hook command failed", err=True)
        sys.exit(outcome.exit_code)
    if state_dir is not None and manifest is not None:
        kept = state_dir / env.name / "manifest.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name("manifest.json.partial")
        partial.write_bytes(manifest.read_bytes())
        partial.replace(kept)


@main.command("rollback")
@target_options()
@click.option(
    "--to",
    "number",
    type=int,
    default=None,
    help="Version number [default: the one before the current].",
)
@click.option(
    "--reason",
    default="rolled back",
    show_default=True,
    help="Why: shown with the hold by `elt status`, `elt publish` and the page.",
)
def rollback_cmd(
    target: str | None,
    project_dir: Path,
    profiles_dir: Path | None,
    number: int | None,
    reason: str,
) -> None:
    """Switch analysts back to a kept version (the previous one by default), in one step, and
    hold them there: later publications are refused until `elt release`."""
    from elt.publish.run import roll_back

    with version_store(target, project_dir, profiles_dir) as store:
        began = time.monotonic()
        version, hold = roll_back(store, number, reason)
    click.echo(
        f"analysts now read {version.label} (built {version.built_at}, commit {version.git_commit}) "
        f"- switched in {time.monotonic() - began:.2f} s; {hold.describe()} "
        "(`elt release` lets the next night publish again)"
    )


@main.command("release")
@target_options()
def release_cmd(target: str | None, project_dir: Path, profiles_dir: Path | None) -> None:
    """End the hold `elt rollback` placed: the next `elt publish` may publish again, diffed
    against the version analysts read."""
    from elt.publish import control

    with version_store(target, project_dir, profiles_dir) as store:
        was = control.release(store)
    if was is None:
        click.echo("no hold: publications are not held")
    else:
        click.echo(
            f"released ({was.describe()}); the next publication is diffed against "
            f"v{was.version:06d}"
        )


@main.command("versions")
@target_options()
@click.option("--json", "as_json", is_flag=True, help="One JSON document, rows per mart included.")
def versions_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, as_json: bool
) -> None:
    """List the kept published versions (* marks what analysts read now), each with its diff
    against the version before, its warnings and any acceptance."""
    from elt.publish.run import describe_version

    with version_store(target, project_dir, profiles_dir) as store:
        versions = store.versions()
    if as_json:
        click.echo(json.dumps([v.as_json() for v in versions], indent=2, default=str))
    elif not versions:
        click.echo("nothing published yet (`elt publish` after a passing `dbt build`)")
    else:
        for v in versions:
            click.echo(describe_version(v))


@main.command("status")
@target_options()
@click.option("--json", "as_json", is_flag=True, help="The status as one JSON document.")
@click.option(
    "--line", "one_line", is_flag=True, help="Only the one-line outcome (make daily's last line)."
)
def status_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, as_json: bool, one_line: bool
) -> None:
    """What analysts read and since when, the last night's outcome (published, blocked with
    its reasons, held, failed), its diff summary and the gates' findings."""
    from elt.publish.status import status

    with version_store(target, project_dir, profiles_dir) as store:
        st = status(store)
    if as_json:
        click.echo(json.dumps(st.as_json(), indent=2, default=str))
    elif one_line:
        click.echo(st.line())
    else:
        click.echo("\n".join(st.lines()))


@main.command("diff")
@target_options()
@click.option(
    "--version",
    "number",
    type=int,
    default=None,
    help="A kept version's diff [default: the last attempt's].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["summary", "json", "markdown"]),
    default="summary",
    show_default=True,
)
def diff_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, number: int | None, fmt: str
) -> None:
    """The audit's diff: of a kept version against the one before it, or of the last
    candidate (published or not) against what analysts read."""
    from elt.publish.status import stored_diff

    with version_store(target, project_dir, profiles_dir) as store:
        found = stored_diff(store, number)
    if found is None:
        raise UserError("no diff recorded (`elt publish` records one with each attempt)", 1)
    click.echo(found.render(fmt))


@main.command("drop-environment")
@target_options()
def drop_environment_cmd(target: str | None, project_dir: Path, profiles_dir: Path | None) -> None:
    """Drop every schema of the current dev or ci environment (ELT_ENV) and what it published;
    production is refused."""
    from elt.environment import current

    env = current()
    if env.name == "prod":
        raise UserError("drop-environment refuses production (ELT_ENV=prod)", 2)
    with version_store(target, project_dir, profiles_dir, env) as store:
        dropped = store.drop()
    click.echo(f"dropped {len(dropped)} of {env.prefix}*: {', '.join(dropped) or 'nothing'}")


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
    from elt.alert import notify, should_alert, summarise

    try:
        summary = summarise(step, exit_code, run_results)
    except (OSError, ValueError) as exc:
        click.echo(f"alert: cannot read {run_results}: {exc}", err=True)
        summary = summarise(step, exit_code or 1, None)
    if summary.status != "ok":
        click.echo(f"alert: {summary.headline()}", err=True)
    if should_alert(summary, on_warn) and command:
        hook = notify(summary, command)
        if hook != 0:
            click.echo(f"alert: the hook command exited with {hook}", err=True)
    sys.exit(exit_code)


@main.command("record-run")
@target_options()
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
@duckdb_wait_option()
def record_run_cmd(
    target: str | None,
    project_dir: Path,
    profiles_dir: Path | None,
    run_results: Path,
    exit_code: int | None,
    lock_timeout: float,
) -> None:
    """Append a dbt invocation to the run history (raw._elt_runs and raw._elt_run_nodes).

    TARGET is the loader's target (the loader's role owns the history, as it owns the
    manifest). Recording the same invocation again adds nothing. `elt load` records itself.
    """
    from elt.errors import LoaderError
    from elt.history.runs import context_for, from_dbt_results
    from elt.loader.run import record
    from elt.warehouse.profile import load_target

    try:
        resolved = load_target(project_dir, profiles_dir, target)
        run = from_dbt_results(run_results, context_for(resolved.name, project_dir), exit_code)
        new = record(run, resolved, lock_timeout)
    except LoaderError as exc:
        raise UserError(f"record-run: {exc}", exc.exit_code) from exc
    click.echo(
        f"record-run: {'recorded' if new else 'already recorded, nothing added:'} {run.describe()}"
    )


@main.command(
    "metrics",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@target_options()
@click.option(
    "--build",
    "on_build",
    is_flag=True,
    help="Query the build area (<prefix>marts) as dbt's role, not the published marts.",
)
@click.argument("mf_args", nargs=-1, type=click.UNPROCESSED)
def metrics_cmd(
    target: str | None,
    project_dir: Path,
    profiles_dir: Path | None,
    on_build: bool,
    mf_args: tuple[str, ...],
) -> None:
    """MetricFlow (`mf`) on the published marts, as an analyst: `elt metrics query --metrics
    revenue --group-by metric_time__month`, `elt metrics list metrics`, `elt metrics
    validate-configs`. Every argument after the options goes to mf; exits with mf's code.
    """
    from elt.environment import current
    from elt.errors import LoaderError
    from elt.semantic_layer import prepare, run_mf
    from elt.warehouse.profile import load_target

    if not mf_args:
        raise UserError(
            "metrics: name an mf command, e.g. `elt metrics query --metrics revenue --group-by metric_time__month`"
        )
    try:
        resolved = load_target(project_dir, profiles_dir, target)
        target_dir = Path(os.environ.get("DBT_TARGET_PATH") or project_dir / "target")
        folder, env = prepare(
            project_dir, target_dir, resolved, current(), not on_build, profiles_dir
        )
    except LoaderError as exc:
        raise UserError(f"metrics: {exc}", exc.exit_code) from exc
    sys.exit(run_mf(folder, env, list(mf_args)))


@main.command("report")
@target_options()
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    envvar="ELT_REPORT_PATH",
    help="The HTML file to write [env ELT_REPORT_PATH; default: artifacts/report/<env>-<target>.html].",
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Days of history the charts show.",
)
@duckdb_wait_option()
def report_cmd(
    target: str | None,
    project_dir: Path,
    profiles_dir: Path | None,
    output: Path | None,
    days: int,
    lock_timeout: float,
) -> None:
    """Write the monitoring page: one static HTML file (no server, no network) with the last
    runs and what failed, test results, run times and the slowest models, rows loaded,
    freshness, quarantine and reject rates per source, and the business KPIs of the
    published marts.
    """
    from elt.environment import current
    from elt.report.run import write_report
    from elt.warehouse.profile import load_target

    resolved = load_target(project_dir, profiles_dir, target)
    env = current()
    path = output or Path("artifacts") / "report" / f"{env.label}-{resolved.name}.html"
    written = write_report(resolved, env, path, days, lock_timeout)
    click.echo(
        f"report: {written.path} ({written.size_bytes / 1e6:.1f} MB; read the warehouse in "
        f"{written.read_seconds:.2f} s, {written.total_seconds:.2f} s in all)"
    )


@main.command("spark-cluster")
@click.argument(
    "action", type=click.Choice(["start", "stop", "status", "thrift-start", "thrift-stop"])
)
@click.option("--project-dir", type=click.Path(path_type=Path), default=Path("."), hidden=True)
@click.option("--profiles-dir", type=click.Path(path_type=Path), default=None, hidden=True)
def spark_cluster_cmd(action: str, project_dir: Path, profiles_dir: Path | None) -> None:
    """Start, stop or show the local Spark standalone cluster (a master and a worker on
    127.0.0.1; ELT_SPARK_MASTER_PORT, ELT_SPARK_WORKER_CORES, ELT_SPARK_WORKER_MEMORY; state
    in ELT_SPARK_DIR/cluster). `start` does nothing when it runs already. `thrift-start`
    starts a Spark Thrift server (ELT_SPARK_THRIFT_PORT, 10000) with the `spark` target's
    settings, for the `spark_thrift` target and BI tools.
    """
    from elt import spark_cluster
    from elt.errors import LoaderError
    from elt.warehouse.profile import load_target

    try:
        if action == "thrift-start":
            spark = load_target(project_dir, profiles_dir, "spark")
            port = spark_cluster.start_thrift(
                dict(spark.settings.get("server_side_parameters") or {})
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
@target_options()
@click.argument("statement")
def spark_sql_cmd(
    target: str | None, project_dir: Path, profiles_dir: Path | None, statement: str
) -> None:
    """Run one Spark SQL statement on the Spark warehouse (the target's metastore and tables, a
    local Spark of its own) and print its rows: a query without a cluster or a Thrift server."""
    from elt.warehouse.profile import load_target
    from elt.warehouse.spark_catalog import open_catalog

    resolved = load_target(project_dir, profiles_dir, target or "spark")
    if resolved.type != "spark":
        raise UserError(f"spark-sql: target {resolved.name!r} is {resolved.type}, not spark")
    catalog = open_catalog(resolved.settings)
    try:
        columns, rows = catalog.query(statement)
    finally:
        catalog.close()
    table = Table()
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    out.print(table)
    out.print(f"{len(rows)} rows", highlight=False)


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


def print_load_report(report: LoadReport) -> None:
    from collections import defaultdict

    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for r in report.results:
        row = per[r.file.table.label]
        row[r.status] += 1
        row["rows"] += r.rows_loaded
        row["quarantined"] += r.rows_quarantined
        row["seconds"] += r.seconds
        if r.status in ("loaded", "reloaded"):
            row["bytes"] += r.file.size
    table = Table(title=f"elt load → {report.target}, batch {report.batch_id}")
    for col in (
        "source table",
        "loaded",
        "skipped",
        "waiting",
        "failed",
        "rows loaded",
        "quarantined",
        "seconds",
        "MB/s",
    ):
        table.add_column(col, justify="left" if col == "source table" else "right")
    for label in sorted(per):
        row = per[label]
        mbps = row["bytes"] / 1e6 / row["seconds"] if row["seconds"] else 0.0
        table.add_row(
            label,
            f"{row['loaded'] + row['reloaded']:.0f}",
            f"{row['skipped']:.0f}",
            f"{row['waiting']:.0f}",
            f"{row['failed'] + row['refused']:.0f}",
            f"{row['rows']:,.0f}",
            f"{row['quarantined']:,.0f}",
            f"{row['seconds']:.1f}",
            f"{mbps:.1f}",
        )
    out.print(table)
    for note in report.drift:
        out.print(f"schema drift: {note}", highlight=False, soft_wrap=True)
    for r in report.results:
        if r.status in ("failed", "refused"):
            click.echo(f"{r.status}: {r.message}", err=True)
        elif r.status == "waiting":
            out.print(f"waiting: {r.message}", highlight=False, soft_wrap=True)
        for notice in r.notices:
            out.print(f"notice: {r.file.rel}: {notice}", highlight=False, soft_wrap=True)
    loaded = sum(r.rows_loaded for r in report.results)
    waiting = sum(1 for r in report.results if r.status == "waiting")
    if not report.ok:
        outcome = "SOME FILES WERE NOT LOADED"
    elif waiting:
        outcome = f"no file failed; {waiting} not ready, left for the next run"
    else:
        outcome = "every file loaded"
    out.print(f"{loaded:,} rows loaded in {report.seconds:.1f} s; {outcome}", highlight=False)


def print_summary(s: Summary) -> None:
    table = Table(
        title=f"{'continued' if s.continued else 'generated'} {s.first_day} .. {s.last_day} in {s.out_dir}"
    )
    for col in ("table", "files", "rows", "MB", "injected (kind: rows)"):
        table.add_column(
            col, justify="left" if col in ("table", "injected (kind: rows)") else "right"
        )
    for name, t in sorted(s.tables.items()):
        injected = ", ".join(f"{k}: {v}" for k, v in t.injected.items() if v)
        table.add_row(name, f"{t.files:,}", f"{t.rows:,}", f"{t.bytes / 1e6:,.1f}", injected or "-")
    out.print(table)
    rate = s.rows / s.seconds if s.seconds else 0.0
    out.print(
        f"{s.rows:,} rows, {s.bytes / 1e6:,.1f} MB in {s.seconds:.1f} s ({rate:,.0f} rows/s, {s.bytes / 1e6 / max(s.seconds, 1e-9):,.1f} MB/s)"
    )
