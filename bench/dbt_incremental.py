"""Benchmark the daily incremental run against a full rebuild, and its growth with history.

Usage: python -m bench.dbt_incremental [--scale 1] [--days 90] [--targets duckdb,postgres]

For each target, on the sample data at `--scale`:
1. `--days` days of history, loaded and built;
2. one more day, loaded: `dbt build` (incremental), then `dbt build --full-refresh` on the
   same data; fct_order_items' node time and the whole invocation's time for both;
3. one more day: `dbt run` (incremental), then `dbt test`; `dbt build` of step 2 over this
   `dbt run` says what the tests cost;
4. history doubled (to twice `--days`, loaded and built), then one more day: `dbt build`
   (incremental); its time over step 2's says whether the daily cost grows with history.
Prints the figures and the goals (node <= 0.15, build <= 0.3, 2x history <= 1.2,
build/run <= 1.5); asserts nothing (timings belong to benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.loader.run import LoadOptions, load
from elt.warehouse.profile import load_target

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "elt_bench_dbt"
NODE = "model.elt_warehouse.fct_order_items"


def dbt(work: Path, env: dict[str, str], command: str, *args: str) -> tuple[float, float | None]:
    """(invocation seconds, fct_order_items node seconds or None) of one dbt command."""
    began = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), command, "--project-dir", str(REPO), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt {command} {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    runs = json.loads((work / "target" / "run_results.json").read_text())
    node = next((r["execution_time"] for r in runs["results"] if r["unique_id"] == NODE), None)
    return seconds, node


def fresh_postgres_database() -> None:
    conn = psycopg2.connect(
        host=os.environ.get("ELT_PG_HOST", "127.0.0.1"),
        port=os.environ.get("ELT_PG_PORT", "5432"),
        user=os.environ.get("ELT_PG_USER", "postgres"),
        password=os.environ.get("ELT_PG_PASSWORD", ""),
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"drop database if exists {BENCH_DB} with (force)")
        cur.execute(f"create database {BENCH_DB}")
    conn.close()


def bench_target(target: str, work: Path, cfg: GeneratorConfig, days: int) -> None:
    data = work / f"data-{target}"
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        "ELT_TARGET": target,
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_DUCKDB_PATH": str(work / "bench.duckdb"),
        "ELT_PG_DATABASE": BENCH_DB,
    }
    if target == "postgres":
        fresh_postgres_database()
    os.environ.update({k: env[k] for k in ("ELT_DUCKDB_PATH", "ELT_PG_DATABASE")})
    opts = LoadOptions(project_dir=REPO, data_dir=data, target=load_target(REPO, REPO, target))

    def add_days(n: int) -> None:
        generate(data, cfg, days=n, cont=(data / "_meta").exists())
        load(opts)

    add_days(days)
    history, _ = dbt(work, env, "build")
    add_days(1)
    inc_build, inc_node = dbt(work, env, "build")
    full_build, full_node = dbt(work, env, "build", "--full-refresh")
    add_days(1)
    inc_run, _ = dbt(work, env, "run")
    dbt(work, env, "test")
    add_days(days - 2)
    dbt(work, env, "build")
    add_days(1)
    inc_build_2x, inc_node_2x = dbt(work, env, "build")
    if not (inc_node and full_node and inc_node_2x):
        raise SystemExit("fct_order_items is missing from dbt's run results")
    print(f"{target:9} history build ({days} days, dbt build): {history:7.1f} s")
    print(
        f"{target:9} fct_order_items node: incremental {inc_node:6.2f} s, full refresh {full_node:6.2f} s, "
        f"ratio {inc_node / full_node:.2f} (goal <= 0.15)"
    )
    print(
        f"{target:9} whole dbt build:      incremental {inc_build:6.1f} s, full refresh {full_build:6.1f} s, "
        f"ratio {inc_build / full_build:.2f} (goal <= 0.3)"
    )
    print(
        f"{target:9} incremental dbt build at {2 * days} vs {days} days of history: {inc_build_2x:6.1f} s / "
        f"{inc_build:6.1f} s = {inc_build_2x / inc_build:.2f} (goal <= 1.2); node {inc_node_2x:.2f} s / "
        f"{inc_node:.2f} s = {inc_node_2x / inc_node:.2f}"
    )
    print(
        f"{target:9} incremental dbt build / dbt run: {inc_build:6.1f} s / {inc_run:6.1f} s = "
        f"{inc_build / inc_run:.2f} (goal <= 1.5)",
        flush=True,
    )
    (work / "bench.duckdb").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    args = parser.parse_args()
    print(
        f"dbt incremental benchmark: scale {args.scale}, {args.days} days of history + 1, "
        f"then {2 * args.days} + 1; {os.cpu_count()} cores",
        flush=True,
    )
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory(prefix="elt-bench-dbt-") as tmp:
            bench_target(target, Path(tmp), GeneratorConfig(scale=args.scale), args.days)


if __name__ == "__main__":
    main()
