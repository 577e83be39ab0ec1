"""Benchmark ``elt load`` against the bare native bulk path, on the same scale-1 CSV files.

Usage: python -m bench.load [--scale 1] [--days 90] [--repeat 3] [--targets duckdb,postgres]
                                [--data clean,messy]

Both sides load the same files in the same groups: the loader's own grouping (files of a
table in name order, up to ``GROUP_RECORDS`` rows per transaction, a new group where the
header changes). The bare paths: DuckDB, one ``INSERT ... SELECT * FROM read_csv([files],
all_varchar = true)`` per group (``ignore_errors = true`` on messy data, which drops the bad
lines the loader quarantines); PostgreSQL, ``COPY ... FROM STDIN (FORMAT csv, HEADER)`` per
file, one transaction per group (COPY cannot skip a malformed line: no bare figure on messy
data). The loader does more: hashing, manifest, rejects, row numbers, checks per file, the
statistics and index of ``_loaded_at`` on PostgreSQL. Timings include closing the DuckDB
file (its checkpoint). Medians of ``--repeat`` runs. Also: a rerun with nothing new, in
process and as a command (with the interpreter's start-up). Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from bench.queries import admin, fresh_database
from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.loader.config import SourceTable, load_sources
from elt.loader.files import discover, fingerprint
from elt.loader.parse import csv_header, q
from elt.loader.run import LoadOptions, Planned, groups, load
from elt.warehouse.profile import load_loader_target, load_target

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "elt_bench"


def pg_params(dbname: str) -> dict[str, Any]:
    """The bare path connects as the administrator (it creates its own tables)."""
    return {**admin(), "dbname": dbname}


def fresh_pg_database() -> None:
    """The project's set-up of a new database (roles, schemas' owners): the loader then logs in
    as its own role, as ``make load`` does."""
    fresh_database(BENCH_DB)


def loader_groups(tables: list[SourceTable], data: Path) -> dict[SourceTable, list[list[Path]]]:
    """The files of each table as the loader groups them: its groups, split where the header
    changes (a group of files sharing a header is one scan)."""
    out: dict[SourceTable, list[list[Path]]] = {}
    for t in tables:
        planned = [Planned(fingerprint(t, data, f.path), replace=False) for f in discover(t, data)]
        for group in groups(planned):
            runs: list[list[Path]] = []
            header: list[str] | None = None
            for p in group:
                this = csv_header(p.file)
                if this != header:
                    runs.append([])
                    header = this
                runs[-1].append(p.file.path)
            out.setdefault(t, []).extend(runs)
    return out


def bare_duckdb(path: Path, grouped: dict[SourceTable, list[list[Path]]], messy: bool) -> None:
    """One INSERT per group of files from ``read_csv`` with the header's columns as text (no
    sniffing), as little work as DuckDB can do to land the files."""
    con = duckdb.connect(str(path))
    for t, runs in grouped.items():
        for i, files in enumerate(runs):
            header = files[0].open("rb").readline().decode().rstrip("\n").split(",")
            if i == 0:
                con.execute(
                    f"create table {q(t.identifier)} ({', '.join(f'{q(c)} varchar' for c in header)})"
                )
            for column in header:  # schema drift
                con.execute(
                    f"alter table {q(t.identifier)} add column if not exists {q(column)} varchar"
                )
            paths = "[" + ", ".join(f"'{f}'" for f in files) + "]"
            columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header) + "}"
            con.execute(
                f"insert into {q(t.identifier)} ({', '.join(q(c) for c in header)}) select * from "
                f"read_csv({paths}, header = true, auto_detect = false, columns = {columns}"
                f"{', ignore_errors = true' if messy else ''})"
            )
    con.close()


def bare_postgres(grouped: dict[SourceTable, list[list[Path]]]) -> None:
    conn = psycopg2.connect(**pg_params(BENCH_DB))
    with conn.cursor() as cur:
        for t, runs in grouped.items():
            headers = [r[0].open("rb").readline().decode().rstrip("\n").split(",") for r in runs]
            columns = list(dict.fromkeys(c for h in headers for c in h))
            cur.execute(
                f"create table {q(t.identifier)} ({', '.join(f'{q(c)} text' for c in columns)})"
            )
            conn.commit()
            for files, header in zip(runs, headers, strict=True):
                for f in files:
                    with f.open("rb") as fh:
                        cur.copy_expert(
                            f"copy {q(t.identifier)} ({', '.join(q(c) for c in header)}) from stdin (format csv, header true)",
                            fh,
                        )
                conn.commit()
    conn.close()


def loader(target: str, data: Path, duckdb_path: Path, labels: tuple[str, ...]) -> None:
    os.environ["ELT_DUCKDB_PATH"] = str(duckdb_path)
    os.environ["ELT_PG_DATABASE"] = BENCH_DB
    report = load(
        LoadOptions(
            project_dir=REPO,
            data_dir=data,
            target=load_target(REPO, REPO, target),
            tables=labels,
        )
    )
    assert report.ok, [r.message for r in report.results if r.message]


def rerun_command(target: str, data: Path, labels: tuple[str, ...]) -> float:
    """``elt load`` as a command when nothing is new: wall time, interpreter start-up included."""
    began = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "elt",
            "load",
            "--target",
            target,
            "--data-dir",
            str(data),
            "--project-dir",
            str(REPO),
            "--profiles-dir",
            str(REPO),
            "--quiet",
            *[a for label in labels for a in ("--table", label)],
        ],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


def timed(setup: Callable[[], None], run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        setup()
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--data", default="clean,messy")
    args = parser.parse_args()
    print(
        f"elt load benchmark: scale {args.scale}, {args.days} days, median of {args.repeat}, {os.cpu_count()} cores"
    )
    with tempfile.TemporaryDirectory(prefix="elt-bench-load-") as tmp:
        for kind in args.data.split(","):
            for target in args.targets.split(","):
                bench(kind, target, Path(tmp) / kind, args.scale, args.days, args.repeat)


def bench(kind: str, target: str, work: Path, scale: float, days: int, repeat: int) -> None:
    """One dataset (clean or messy) on one target: bare path, loader, reruns."""
    csv_tables = [t for t in load_sources(REPO) if t.format == "csv"]
    labels = tuple(t.label for t in csv_tables)
    data = work / "data"
    rates = {k: (0.0 if kind == "clean" else v[0]) for k, v in MESS_KINDS.items()}
    if not data.is_dir():
        generate(data, GeneratorConfig(scale=scale, rates=rates), days=days)
    rows = sum(
        len(f.read_bytes().splitlines()) - 1
        for t in csv_tables
        for f in (x.path for x in discover(t, data))
    )
    size = sum(f.path.stat().st_size for t in csv_tables for f in discover(t, data))
    grouped = loader_groups(csv_tables, data)
    print(
        f"\n{kind} data, {target}: {len(labels)} CSV tables, {rows:,} lines, {size / 1e6:.0f} MB, "
        f"{sum(len(r) for r in grouped.values())} scans/transactions"
    )
    db = work / "bench.duckdb"

    def drop_duckdb() -> None:
        for p in (db, db.with_name(db.name + ".wal")):
            p.unlink(missing_ok=True)

    bare: float | None = None
    role = load_loader_target(REPO, REPO, target).name  # the loader's own login
    if target == "duckdb":
        bare = timed(drop_duckdb, lambda: bare_duckdb(db, grouped, kind == "messy"), repeat)
        ours = timed(drop_duckdb, lambda: loader("duckdb", data, db, labels), repeat)
        bare_label = "read_csv per group"
    else:
        if kind == "clean":
            bare = timed(fresh_pg_database, lambda: bare_postgres(grouped), repeat)
        ours = timed(fresh_pg_database, lambda: loader(role, data, db, labels), repeat)
        bare_label = "COPY per file"
    again = timed(lambda: None, lambda: loader(role, data, db, labels), repeat)
    command = statistics.median(rerun_command(role, data, labels) for _ in range(repeat))
    if bare is not None:
        print(f"{target:9} bare ({bare_label}): {bare:6.2f} s  {rows / bare:>10,.0f} rows/s")
    else:
        print(f"{target:9} bare: n/a (COPY refuses a file with a malformed line)")
    goal = 1.15 if target == "duckdb" else 1.5
    ratio = f"  ratio {ours / bare:.2f}x (goal <= {goal}x)" if bare else ""
    print(f"{target:9} elt load: {ours:6.2f} s  {rows / ours:>10,.0f} rows/s{ratio}")
    print(f"{target:9} rerun, nothing new: {again:.2f} s in process, {command:.2f} s as a command")


if __name__ == "__main__":
    main()
