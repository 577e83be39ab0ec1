"""The ``elt`` command: a thin shell over the package's functions."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

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

err = Console(stderr=True)
out = Console()


@click.group()
@click.version_option(package_name="elt-warehouse")
def main() -> None:
    """ELT warehouse tools: generate sample data, load raw files."""


RATES_HELP = "\n".join(f"  {k:<22} {v[0]:<7} {v[1]}" for k, v in MESS_KINDS.items())


@main.command(epilog=f"Messiness kinds (default rate, meaning):\n\n{RATES_HELP}", context_settings={"max_content_width": 120})
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output directory [env ELT_DATA_DIR, default ./data].")
@click.option("--scale", type=float, default=0.01, show_default=True, help="Volume: 1 ≈ 1M order lines per 90 days.")
@click.option("--days", type=int, default=DEFAULT_DAYS, show_default=True, help="Number of extract days to generate.")
@click.option("--start", "start_text", default=None, help=f"First day, YYYY-MM-DD [default {DEFAULT_START}; when continuing, the day after the dataset's last].")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed; same seed and options give identical files.")
@click.option("--rate", "rates", multiple=True, metavar="KIND=RATE", help="Set one messiness rate (repeatable); kinds below.")
@click.option("--clean", is_flag=True, help="Set every messiness rate to 0 (before --rate).")
@click.option("--max-late-days", type=int, default=DEFAULT_MAX_LATE_DAYS, show_default=True, help="Latest a late row may arrive.")
@click.option("--drift-after-days", type=int, default=DEFAULT_DRIFT_AFTER_DAYS, show_default=True, help="Orders gain a coupon_code column this many days after the start; -1 for never.")
@click.option("--rows-per-file", type=int, default=DEFAULT_ROWS_PER_FILE, show_default=True, help="Split a day's extract into part files of at most this many rows.")
@click.option("--continue", "cont", is_flag=True, help="Append the next days to the existing dataset in --out.")
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
    try:
        start = parse_date(start_text, "--start") if start_text else None
        rate_map = {k: (0.0 if clean else v[0]) for k, v in MESS_KINDS.items()}
        rate_map.update(dict(parse_rate(r) for r in rates))
        first = start or DEFAULT_START
        if drift_after_days < -1:
            raise ConfigError(f"--drift-after-days must be -1 (never) or at least 0, got {drift_after_days}")
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
            disable=quiet,
            transient=True,
        ) as progress:
            task = progress.add_task("", total=days)

            def on_day(day: dt.date, done: int) -> None:
                progress.update(task, completed=done, description=day.isoformat())

            summary = generate(out_dir, cfg, days, start=start, cont=cont, on_day=on_day)
    except ConfigError as exc:
        fail(str(exc))
    print_summary(summary)


main.add_command(generate_cmd, name="generate")


def fail(message: str, code: int = 2) -> None:
    """One unwrapped line on stderr (no markup: messages may hold brackets), then exit."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def print_summary(s: Summary) -> None:
    table = Table(title=f"{'continued' if s.continued else 'generated'} {s.first_day} .. {s.last_day} in {s.out_dir}")
    for col in ("table", "files", "rows", "MB", "injected (kind: rows)"):
        table.add_column(col, justify="left" if col in ("table", "injected (kind: rows)") else "right")
    for name, t in sorted(s.tables.items()):
        injected = ", ".join(f"{k}: {v}" for k, v in t.injected.items() if v)
        table.add_row(name, f"{t.files:,}", f"{t.rows:,}", f"{t.bytes / 1e6:,.1f}", injected or "-")
    out.print(table)
    rate = s.rows / s.seconds if s.seconds else 0.0
    out.print(f"{s.rows:,} rows, {s.bytes / 1e6:,.1f} MB in {s.seconds:.1f} s ({rate:,.0f} rows/s, {s.bytes / 1e6 / max(s.seconds, 1e-9):,.1f} MB/s)")
