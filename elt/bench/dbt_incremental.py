"""Benchmark the incremental fact against a full refresh, at scale 1 over 90 days of history.

Usage: python -m elt.bench.dbt_incremental [--scale 1] [--days 90] [--targets duckdb,postgres]

For each target: load 90 days and `dbt build` (history); generate and load one more day
and `dbt build` (incremental, default lookback); then `dbt build --full-refresh` on the
same data. Prints fct_order_items' node time and the whole invocation's time for both,
and their ratio (goal for the node: <= 0.15). Prints, asserts nothing.
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

REPO = Path(__file__).resolve().parents[2]
BENCH_DB = "elt_bench_dbt"
NODE = "model.elt_warehouse.fct_order_items"


def dbt_build(work: Path, env: dict[str, str], *args: str) -> tuple[float, float]:
    """(invocation seconds, fct_order_items node seconds) of one `dbt build`."""
    began = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt build {' '.join(args)} failed:\n{result.stdout[-4000:]}")
    runs = json.loads((work / "target" / "run_results.json").read_text())
    node = next(r["execution_time"] for r in runs["results"] if r["unique_id"] == NODE)
    return seconds, float(node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elt-bench-dbt-") as tmp:
        work = Path(tmp)
        cfg = GeneratorConfig(scale=args.scale)
        print(
            f"dbt incremental benchmark: scale {args.scale}, {args.days} days of history + 1, {os.cpu_count()} cores"
        )
        for target in args.targets.split(","):
            data = work / f"data-{target}"
            generate(data, cfg, days=args.days)
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
            os.environ.update({k: env[k] for k in ("ELT_DUCKDB_PATH", "ELT_PG_DATABASE")})
            opts = LoadOptions(project_dir=REPO, data_dir=data, profiles_dir=REPO, target=target)
            load(opts)
            history, _ = dbt_build(work, env)
            generate(data, cfg, days=1, cont=True)
            load(opts)
            inc_total, inc_node = dbt_build(work, env)
            full_total, full_node = dbt_build(work, env, "--full-refresh")
            print(f"{target:9} history build (90 days, dbt build): {history:6.1f} s")
            print(
                f"{target:9} fct_order_items node: incremental {inc_node:6.2f} s, full refresh {full_node:6.2f} s, "
                f"ratio {inc_node / full_node:.2f} (goal <= 0.15)"
            )
            print(
                f"{target:9} whole dbt build:      incremental {inc_total:6.1f} s, full refresh {full_total:6.1f} s, "
                f"ratio {inc_total / full_total:.2f}"
            )
            (work / "bench.duckdb").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
