"""Benchmark the change-impact report against the slim CI build it follows.

Usage: python -m bench.impact [--scale 1] [--days 30]

In a copy of the project on DuckDB: `--scale` with `--days` of history loaded, built and
published as production (its manifest kept as slim CI's state). Then a change (net revenue
without the discount, the case the tests prove breaking) is built the way `make ci-slim`
builds it (`dbt build --select state:modified+ --defer`) and `elt impact` runs on it; each
step's wall time, and dbt's own `elapsed_time`. Goal: the report at most 20% of the slim
CI build.

Asserts nothing (timings belong to benchmarks, not tests).
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

from elt.tests.project_copy import copy_project

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RULE = (
    "            with_product.quantity * with_product.unit_price - with_product.discount_amount\n",
    "            with_product.quantity * with_product.unit_price\n",
)
RULE_TEST = (
    "gross_amount: 30.00, net_revenue: 25.00, net_revenue_usd: 27.50,",
    "gross_amount: 30.00, net_revenue: 30.00, net_revenue_usd: 33.00,",
)


def run(args: list[str], project: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(args, cwd=project, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="1")
    parser.add_argument("--days", default="30")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        project = work / "project"
        copy_project(project)
        env = {
            **os.environ,
            "ELT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
            "DBT_PROFILES_DIR": str(project),
            "ELT_STATE_DIR": str(work / "state"),
            "ELT_TARGET": "duckdb",
            # production hashes emails with a key of its own; this one is the benchmark's
            "ELT_EMAIL_HASH_KEY": "bench-only-email-hash-key-0123456789",
        }
        prod = {**env, "ELT_ENV": "prod"}
        elt, dbt = str(BIN / "elt"), str(BIN / "dbt")
        seconds = run(
            [
                elt,
                "generate",
                "--out",
                str(work / "data"),
                "--scale",
                args.scale,
                "--days",
                args.days,
                "--quiet",
            ],
            project,
            env,
        )
        print(f"generate scale {args.scale}, {args.days} days: {seconds:.1f} s")
        seconds = run([elt, "load", "--data-dir", str(work / "data"), "--quiet"], project, prod)
        print(f"load: {seconds:.1f} s")
        make = ["make", "--no-print-directory", f"VENV={BIN.parent}", "ELT_NO_INSTALL=1"]
        seconds = run([*make, "build", "publish"], project, prod)
        print(f"production build and publish: {seconds:.1f} s")

        sales = project / "models" / "marts" / "sales"
        edit(sales / "fct_order_items.sql", *RULE)
        edit(sales / "_sales__models.yml", *RULE_TEST)
        ci = {**env, "ELT_ENV": "ci", "ELT_CI_RUN_ID": "bench"}
        state = str(work / "state" / "prod")
        build = run(
            [dbt, "build", "--select", "state:modified+", "--defer", "--state", state],
            project,
            ci,
        )
        results = json.loads((project / "target" / "run_results.json").read_text())
        report = run([elt, "impact", "--state", state], project, ci)
        impact = json.loads((project / "target" / "impact" / "impact.json").read_text())
        print(
            f"slim CI build (state:modified+): wall {build:.1f} s, dbt elapsed "
            f"{results['elapsed_time']:.1f} s, {len(results['results'])} nodes"
        )
        print(
            f"elt impact: wall {report:.1f} s ({100 * report / build:.0f}% of the build), "
            f"{impact['category']}, {len(impact['marts'])} marts compared"
        )


if __name__ == "__main__":
    main()
