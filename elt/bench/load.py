"""Benchmark ``elt load`` against the bare native bulk path, on the same scale-1 CSV files.

Usage: python -m elt.bench.load [--scale 1] [--days 90] [--repeat 3] [--targets duckdb,postgres]

The files are generated clean (no messiness) so that the bare paths run on them unmodified:
DuckDB ``CREATE TABLE AS SELECT * FROM read_csv(<glob>, all_varchar = true)`` and
PostgreSQL ``COPY ... FROM STDIN`` of each file into a text table. The loader does more
(hashing, manifest, rejects, row numbers, one transaction per file); the ratio is the
price of that. Timings include closing the DuckDB file (its checkpoint). Medians of
``--repeat`` runs. Prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.loader.config import SourceTable, load_sources
from elt.loader.files import discover
from elt.loader.parse import q
from elt.loader.run import LoadOptions, load

REPO = Path(__file__).resolve().parents[2]
BENCH_DB = "elt_bench"


def pg_params(dbname: str) -> dict[str, Any]:
    return {
        "host": os.environ.get("ELT_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("ELT_PG_PORT", "5432"),
        "user": os.environ.get("ELT_PG_USER", "postgres"),
        "password": os.environ.get("ELT_PG_PASSWORD", ""),
        "dbname": dbname,
    }


def fresh_pg_database() -> None:
    conn = psycopg2.connect(**pg_params("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"drop database if exists {BENCH_DB} with (force)")
        cur.execute(f"create database {BENCH_DB}")
    conn.close()


def bare_duckdb(path: Path, tables: list[SourceTable], data: Path) -> None:
    con = duckdb.connect(str(path))
    for t in tables:
        con.execute(
            f"create table {q(t.identifier)} as select * from read_csv('{data}/{t.path}', all_varchar = true)"
        )
    con.close()


def bare_postgres(tables: list[SourceTable], data: Path) -> None:
    conn = psycopg2.connect(**pg_params(BENCH_DB))
    with conn.cursor() as cur:
        for t in tables:
            files = [found.path for found in discover(t, data)]
            headers = [next(csv.reader(f.open())) for f in files]
            columns = list(dict.fromkeys(c for h in headers for c in h))
            cur.execute(
                f"create table {q(t.identifier)} ({', '.join(f'{q(c)} text' for c in columns)})"
            )
            for f, header in zip(files, headers, strict=True):
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
            project_dir=REPO, data_dir=data, profiles_dir=REPO, target=target, tables=labels
        )
    )
    assert report.ok, [r.message for r in report.results if r.message]


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
    args = parser.parse_args()
    csv_tables = [t for t in load_sources(REPO) if t.format == "csv"]
    labels = tuple(t.label for t in csv_tables)
    with tempfile.TemporaryDirectory(prefix="elt-bench-load-") as tmp:
        work = Path(tmp)
        data = work / "data"
        s = generate(
            data,
            GeneratorConfig(scale=args.scale, rates=dict.fromkeys(MESS_KINDS, 0.0)),
            days=args.days,
        )
        rows = sum(s.tables[t.source + "/" + t.name].rows for t in csv_tables)
        size = sum(s.tables[t.source + "/" + t.name].bytes for t in csv_tables)
        print(
            f"elt load benchmark: {len(labels)} CSV tables, {rows:,} rows, {size / 1e6:.0f} MB, scale {args.scale}, {args.days} days, "
            f"median of {args.repeat}, {os.cpu_count()} cores"
        )
        db = work / "bench.duckdb"

        def drop_duckdb() -> None:
            for p in (db, db.with_name(db.name + ".wal")):
                p.unlink(missing_ok=True)

        for target in args.targets.split(","):
            if target == "duckdb":
                bare = timed(drop_duckdb, lambda: bare_duckdb(db, csv_tables, data), args.repeat)
                ours = timed(drop_duckdb, lambda: loader("duckdb", data, db, labels), args.repeat)
                bare_label = "CTAS read_csv(glob, all_varchar)"
            else:
                bare = timed(
                    fresh_pg_database, lambda: bare_postgres(csv_tables, data), args.repeat
                )
                ours = timed(
                    fresh_pg_database, lambda: loader("postgres", data, db, labels), args.repeat
                )
                bare_label = "COPY FROM STDIN, one per file"
            print(f"{target:9} bare ({bare_label}): {bare:6.2f} s  {rows / bare:>10,.0f} rows/s")
            print(
                f"{target:9} elt load:                 {ours:6.2f} s  {rows / ours:>10,.0f} rows/s  ratio {ours / bare:.2f}x (goal <= 1.15x)"
            )


if __name__ == "__main__":
    main()
