"""How the commands print what the library returns: the tables of a load, a generated
dataset and a query's rows."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from elt.cli.base import out

if TYPE_CHECKING:
    from elt.generator.run import Summary
    from elt.loader.run import LoadReport


def print_load_report(report: LoadReport) -> None:
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


def print_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A query's rows as a table (NULL for nulls), then their count."""
    table = Table()
    for name in columns:
        table.add_column(name)
    for row in rows:
        table.add_row(*("NULL" if v is None else str(v) for v in row))
    out.print(table)
    out.print(f"{len(rows)} rows", highlight=False)
