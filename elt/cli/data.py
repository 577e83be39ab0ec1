"""The data commands: sample extracts, the load into raw, archiving loaded files, backups."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from elt.cli.base import (
    Context,
    UserError,
    alert_after,
    context_options,
    lock_timeout_option,
    main,
    options,
    progress_bar,
)
from elt.cli.render import print_load_report, print_summary
from elt.context import resolve
from elt.generator.config import (
    DEFAULT_DAYS,
    DEFAULT_DRIFT_AFTER_DAYS,
    DEFAULT_FX_HISTORY_DAYS,
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

if TYPE_CHECKING:
    from elt.loader.run import LoadOptions

RATES_HELP = "\n".join(f"  {k:<22} {v[0]:<7} {v[1]}" for k, v in MESS_KINDS.items())


def data_options(verb: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The options `elt load` and `elt archive` share: the files and the tables."""
    return options(
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


@main.command(
    "generate",
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
    "--fx-history-days",
    type=int,
    default=DEFAULT_FX_HISTORY_DAYS,
    show_default=True,
    help="The first day also delivers the FX rates of the business days this many days before "
    "it (a feed's history: a weekend start has rates); 0 for none.",
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
    fx_history_days: int,
    cont: bool,
    quiet: bool,
) -> None:
    """Generate the retailer's raw extracts (CSV, JSON lines, Parquet), one folder per day."""
    from elt.generator.run import generate

    out_dir = out_dir or resolve().project.data_dir
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
        fx_history_days=fx_history_days,
    )
    with progress_bar("generating", quiet) as progress:
        task = progress.add_task("", total=days)

        def on_day(day: dt.date, done: int) -> None:
            progress.update(task, completed=done, description=day.isoformat())

        summary = generate(out_dir, cfg, days, start=start, cont=cont, on_day=on_day)
    print_summary(summary)


@main.command("load")
@context_options()
@data_options("Load")
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
@lock_timeout_option("Seconds to wait while another loader holds the target.")
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
@click.option(
    "--alert",
    is_flag=True,
    help="On failure, also run the alert hook (ELT_ALERT_COMMAND) with what failed.",
)
def load_cmd(ctx: Context, **options: Any) -> None:
    """Load every new file of every configured source into the raw schema of a dbt target.

    Exit codes: 0 every file loaded; 1 some files failed (fix the files; a retry fails the
    same way); 2 a configuration or usage error; 3 a transient error (connection lost,
    database busy or down): retry, the run resumes where it stopped.
    """
    sys.exit(load_step(ctx, **options))


def load_step(
    ctx: Context,
    data_dir: Path | None = None,
    tables: tuple[str, ...] = (),
    *,
    reload: bool = False,
    max_quarantine_rate: float = 1.0,
    lock_timeout: float = 60.0,
    workers: int = 2,
    verify: bool = False,
    quiet: bool = False,
    log_json: IO[str] | None = None,
    alert: bool = False,
) -> int:
    """`elt load`, printed; its exit code. With ``alert``, a failure also goes to the alert hook
    (ELT_ALERT_COMMAND), an error of the settings included."""
    from elt.errors import LoaderError
    from elt.loader.run import LoadOptions

    try:
        opts = LoadOptions(
            project_dir=ctx.project.dir,
            data_dir=data_dir or ctx.project.data_dir,
            target=ctx.loader_target,
            environment=ctx.env_label,
            reload=reload,
            max_quarantine_rate=max_quarantine_rate,
            lock_timeout=lock_timeout,
            workers=workers,
            tables=tables,
            verify=verify,
        )
        code = _load(opts, quiet, log_json)
    except (UserError, LoaderError) as exc:
        if not alert:
            raise
        failed = exc if isinstance(exc, UserError) else UserError(str(exc), exc.exit_code)
        failed.show()
        alert_after(ctx, "elt load", failed.exit_code)
        return failed.exit_code
    if alert:
        alert_after(ctx, "elt load", code)
    return code


def _load(opts: LoadOptions, quiet: bool, log_json: IO[str] | None) -> int:
    from elt.errors import LoaderError
    from elt.loader.events import EventLog
    from elt.loader.run import load
    from elt.loader.warehouse import FileResult

    events = EventLog(log_json) if log_json is not None else None

    with progress_bar("loading", quiet) as progress:
        task = progress.add_task("", total=None)

        def on_plan(new: int, skipped: int) -> None:
            progress.update(task, total=new)
            if events:
                events.planned(opts.target.name, str(opts.data_dir), new, skipped)

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
    return 0 if report.ok else 1


@main.command("archive")
@context_options()
@data_options("Archive")
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
@lock_timeout_option("Seconds to wait while a loader holds the target.")
def archive_cmd(
    ctx: Context,
    data_dir: Path | None,
    archive_dir: Path | None,
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
        ctx.project.dir,
        data_dir or ctx.project.data_dir,
        archive_dir,
        ctx.loader_target,
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
@context_options()
@click.option(
    "--to",
    "root",
    type=click.Path(path_type=Path),
    required=True,
    envvar="ELT_BACKUP_DIR",
    help="Folder to write the backup into (a subfolder per backup) [env ELT_BACKUP_DIR].",
)
def backup_cmd(ctx: Context, root: Path) -> None:
    """Back up what the files cannot give back: the manifest, the quarantine, raw, the snapshot.

    DuckDB: a copy of the warehouse file, taken under its lock. PostgreSQL: pg_dump of the
    raw and snapshots schemas as ELT_PG_ADMIN_USER, under the loader's lock. Checked: the
    copy's row counts (DuckDB) or pg_restore --list (PostgreSQL); recorded in backup.json.
    """
    from elt.backup import backup

    b = backup(ctx.target, root)
    click.echo(
        f"backup {b.folder}: {len(b.rows)} tables, {sum(b.rows.values()):,} rows, "
        f"{b.size / 1e6:.1f} MB in {b.seconds:.1f} s"
    )


@main.command("restore")
@context_options()
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
def restore_cmd(ctx: Context, folder: Path) -> None:
    """Restore a backup folder (written by `elt backup`) into the target, checked against its
    record; then run `dbt build` to remake what is derived."""
    from elt.backup import restore

    b = restore(ctx.target, folder)
    click.echo(
        f"restored {folder} (taken {b.created_at}): {len(b.rows)} tables, "
        f"{sum(b.rows.values()):,} rows in {b.seconds:.1f} s; now run dbt build"
    )


@main.command("compact")
@context_options(default_target="spark")
@click.option(
    "--min-files",
    type=click.IntRange(min=2),
    default=2,
    show_default=True,
    help="Compact a folder (a raw table, the manifest, the quarantine, the run history) that "
    "has at least this many single files (a load compacts at ELT_SPARK_COMPACT_FILES, 16).",
)
@lock_timeout_option("Seconds to wait while a load holds the target.")
def compact_cmd(ctx: Context, min_files: int, lock_timeout: float) -> None:
    """Spark: merge the single files of each raw table (one per source file) and of the
    bookkeeping (one per source file or run) into one, under the loader's lock; idempotent.
    Prints the files per folder before and after."""
    from elt.loader.run import open_warehouse
    from elt.loader.spark_target import SparkWarehouse
    from elt.warehouse.engines import choose

    warehouse = choose(
        ctx.target,
        {"spark": lambda: open_warehouse(ctx.target, lock_timeout)},
        "compact (only Spark's raw tables are files)",
    )
    assert isinstance(warehouse, SparkWarehouse)
    try:
        schemas = warehouse.raw_schemas()
        with warehouse.lock(lock_timeout):
            warehouse.prepare(schemas)  # a killed load's leftovers, a killed compaction's
            done = warehouse.compact(schemas, min_files)
    finally:
        warehouse.close()
    for result in done:
        click.echo(f"compact: {result.describe()}")
    if not done:
        click.echo(f"compact: no folder has {min_files} single files or more")
