"""Benchmark Spark (the local standalone cluster) against DuckDB: load and full build, and how
each grows from scale 1 to scale 5.

Usage: python -m bench.spark [--scales 1,5] [--days 90] [--targets duckdb,spark]

For each scale, one dataset is generated; each target loads it (`elt load`) and builds it
(`dbt build`, a first build: every model, seed and test) in a warehouse of its own. Spark runs
on the project's local cluster (`elt spark-cluster start`: a master and one 2-core worker on
127.0.0.1, ELT_SPARK_WORKER_MEMORY). Prints seconds per step and the growth from the first
scale to the last; asserts nothing (timings belong to benchmarks, not tests).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        )
    return seconds


def bench(target: str, data: Path, work: Path) -> tuple[float, float]:
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_ENV": "prod",
        "ELT_EMAIL_HASH_KEY": "benchmark-email-hash-key-0123456789abcdef",
        "ELT_TARGET": target,
        "ELT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "ELT_SPARK_DIR": str(work / "spark"),
        "SPARK_CONF_DIR": str(REPO / "elt" / "spark_conf"),
    }
    load = run(
        [str(BIN / "elt"), "load", "--target", target, "--data-dir", str(data), "--quiet"], env
    )
    build = run([str(BIN / "dbt"), "build", "--project-dir", str(REPO)], env)
    return load, build


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scales", default="1,5")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,spark")
    parser.add_argument(
        "--work", type=Path, default=None, help="Keep the data and warehouses here."
    )
    args = parser.parse_args()
    scales = [s.strip() for s in args.scales.split(",")]
    targets = [t.strip() for t in args.targets.split(",")]
    root = args.work or Path(tempfile.mkdtemp(prefix="elt-bench-spark-"))
    master_env = dict(os.environ, ELT_SPARK_DIR=str(root / "cluster"))
    if "spark" in targets:
        run([str(BIN / "elt"), "spark-cluster", "start"], master_env)
        os.environ["ELT_SPARK_MASTER"] = "spark://127.0.0.1:" + os.environ.get(
            "ELT_SPARK_MASTER_PORT", "7077"
        )
    results: dict[tuple[str, str], tuple[float, float]] = {}
    try:
        for scale in scales:
            data = root / f"data-{scale}"
            if not data.exists():
                run(
                    [
                        str(BIN / "elt"),
                        "generate",
                        "--out",
                        str(data),
                        "--scale",
                        scale,
                        "--days",
                        str(args.days),
                        "--quiet",
                    ],
                    dict(os.environ),
                )
            for target in targets:
                work = root / f"{target}-{scale}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                results[(target, scale)] = bench(target, data, work)
                load, build = results[(target, scale)]
                print(
                    f"scale {scale:>3} {target:<7} load {load:8.1f} s   build {build:8.1f} s",
                    flush=True,
                )
    finally:
        if "spark" in targets:
            run([str(BIN / "elt"), "spark-cluster", "stop"], master_env)
    first, last = scales[0], scales[-1]
    if first != last:
        for target in targets:
            a, b = results[(target, first)], results[(target, last)]
            print(
                f"{target:<7} scale {first} -> {last}: load x{b[0] / a[0]:.1f}, build x{b[1] / a[1]:.1f}"
            )
    print(f"(data and warehouses in {root})")


if __name__ == "__main__":
    main()
