"""Benchmark Spark (the local standalone cluster) against DuckDB: load, full build, publish,
compaction and a night, and how each grows from scale 1 to scale 5.

Usage: python -m bench.spark [--scales 1,5] [--days 90] [--targets duckdb,spark]

For each scale, one dataset of ``days - 1`` days is generated; each target loads it (`elt
load`, leaving compaction to later), builds it (`elt scope`, then `dbt build`: a first build,
every model, seed and test) and publishes it (`elt publish --scope`: the audit and the copy,
the night recorded as the Airflow DAG records it) in a warehouse of its own; on Spark `elt
compact` then merges the raw tables' part files (one per source file: the files per table
before and after are printed). Then one more day is generated and each target runs an
incremental night on it (`elt daily`: load, a build scoped to what the day's files reach,
audit, publish, page). Spark runs on the project's local cluster
(`elt spark-cluster start`: a master and two 1-core workers on 127.0.0.1). Prints seconds
per step and the growth from the first scale to the last; asserts nothing (timings belong
to benchmarks, not tests).
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
STEPS = ("load", "build", "publish", "compact", "night")


def run(command: list[str], env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        )
    return seconds


def environment(target: str, data: Path, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_ENV": "prod",
        "ELT_EMAIL_HASH_KEY": "benchmark-email-hash-key-0123456789abcdef",
        "ELT_TARGET": target,
        "ELT_DATA_DIR": str(data),
        "ELT_STATE_DIR": str(work / "state"),
        "ELT_REPORT_PATH": str(work / "report.html"),
        "ELT_ALERT_COMMAND": "",
        "ELT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "ELT_SPARK_DIR": str(work / "spark"),
        "SPARK_CONF_DIR": str(REPO / "elt" / "spark_conf"),
    }


def spark_files(work: Path) -> str:
    """Spark's data files per raw table (min-max over the tables) and per bookkeeping table."""
    from elt.loader.spark_files import count_files

    base = work / "spark" / "raw" / "raw"
    files = count_files(
        sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    counts = [n for name, n in files.items() if not name.startswith("raw._")]
    raw = f"raw {min(counts)}-{max(counts)}" if counts else "raw -"
    books = [f"{name} {n}" for name, n in files.items() if name.startswith("raw._elt_")]
    return ", ".join([raw, *books])


def first_build(target: str, data: Path, work: Path) -> dict[str, float | str]:
    env = environment(target, data, work)
    elt = str(BIN / "elt")
    got: dict[str, float | str] = {}
    # the first load leaves compaction to `elt compact`, timed apart (a load past
    # ELT_SPARK_COMPACT_FILES part files per table would otherwise compact at its end)
    got["load"] = run(
        [elt, "load", "--target", target, "--data-dir", str(data), "--quiet"],
        {**env, "ELT_SPARK_COMPACT_FILES": "0"},
    )
    # as the Airflow DAG runs a night: the scope saved, so that the publication records the
    # night and the next one builds only what its files reach (untimed: its Spark start)
    run([elt, "scope", "--target", target], env)
    got["build"] = run([str(BIN / "dbt"), "build", "--project-dir", str(REPO)], env)
    got["publish"] = run([elt, "publish", "--target", target, "--scope"], env)
    if target == "spark":
        got["files before"] = spark_files(work)
        got["compact"] = run([elt, "compact", "--target", target], env)
        got["files after"] = spark_files(work)
    return got


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
    results: dict[tuple[str, str], dict[str, float | str]] = {}
    elt = str(BIN / "elt")
    try:
        for scale in scales:
            data = root / f"data-{scale}"
            if not data.exists():
                run(
                    [
                        elt,
                        "generate",
                        "--out",
                        str(data),
                        "--scale",
                        scale,
                        "--days",
                        str(args.days - 1),
                        "--quiet",
                    ],
                    dict(os.environ),
                )
            for target in targets:
                work = root / f"{target}-{scale}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                results[(target, scale)] = first_build(target, data, work)
            run(
                [elt, "generate", "--out", str(data), "--continue", "--days", "1", "--quiet"],
                dict(os.environ),
            )
            for target in targets:
                work = root / f"{target}-{scale}"
                env = environment(target, data, work)
                results[(target, scale)]["night"] = run([elt, "daily", "--target", target], env)
                got = results[(target, scale)]
                steps = "   ".join(
                    f"{k} {got[k]:7.1f} s" for k in STEPS if isinstance(got.get(k), float)
                )
                files = (
                    f"\n    files per table {got['files before']}\n    after `elt compact` {got['files after']}"
                    if "files before" in got
                    else ""
                )
                print(f"scale {scale:>3} {target:<7} {steps}{files}", flush=True)
    finally:
        if "spark" in targets:
            run([elt, "spark-cluster", "stop"], master_env)
    first, last = scales[0], scales[-1]
    if first != last:
        for target in targets:
            a, b = results[(target, first)], results[(target, last)]
            grown = ", ".join(
                f"{k} x{float(b[k]) / float(a[k]):.1f}"
                for k in STEPS
                if isinstance(a.get(k), float)
            )
            print(f"{target:<7} scale {first} -> {last}: {grown}")
    print(f"(data and warehouses in {root})")


if __name__ == "__main__":
    main()
