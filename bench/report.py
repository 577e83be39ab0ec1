"""Benchmark the monitoring page at scale 1: `elt report`'s time, the page's size, and how
long it takes to open in headless Chromium.

Usage: python -m bench.report [--scale 1] [--days 90] [--targets duckdb,postgres]
                                  [--runs 3] [--work DIR] [--reuse]

For each target: `--days` days of sample data loaded, built (recorded in the run history) and
published, then `elt report` `--runs` times (median), and the page opened `--runs` times in
Chromium (median time until every chart is drawn). Prints the figures beside the goal (the
page opens in under 2 s); asserts nothing. `--reuse` keeps the warehouses of an earlier run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from bench.queries import dbt, elt, environment, fresh_database, loader_target
from elt.browser import CHROMIUM_ARGS, find_chromium
from elt.generator.config import GeneratorConfig
from elt.generator.run import generate

DATABASE = "elt_bench_report"
OPEN_GOAL_SECONDS = 2.0


def build(target: str, work: Path, data: Path) -> None:
    env = environment(target, work, DATABASE)
    if target == "postgres":
        fresh_database(DATABASE)
    else:
        for stale in work.glob("*.duckdb*"):
            stale.unlink()
    elt(env, "load", "--target", loader_target(target), "--data-dir", str(data), "--quiet")
    dbt(env, "build", "--target", target, "--quiet")
    results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    elt(env, "record-run", "--target", loader_target(target), "--run-results", str(results))
    elt(env, "publish", "--target", target)


def open_seconds(page_path: Path, runs: int) -> float:
    """Median seconds from navigation to every plotly chart drawn, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise SystemExit(
            "headless Chromium not found: apt-get install chromium (or set ELT_CHROMIUM)"
        )
    times: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(page_path.resolve().as_uri(), wait_until="load")
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.js-plotly-plot')].every(g => g._fullLayout)"
                )
                times.append(float(page.evaluate("() => performance.now()")) / 1000)
                page.close()
        finally:
            browser.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/elt-bench-report"))
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    work: Path = args.work
    data = work / "data"
    if not args.reuse:
        work.mkdir(parents=True, exist_ok=True)
        if not (data / "_meta").exists():
            generate(data, GeneratorConfig(scale=args.scale), days=args.days)
    for target in args.targets.split(","):
        if not args.reuse:
            build(target, work, data)
        env = environment(target, work, DATABASE)
        page = work / f"report-{target}.html"
        seconds = []
        for _ in range(args.runs):
            began = time.perf_counter()
            elt(env, "report", "--target", target, "--output", str(page))
            seconds.append(time.perf_counter() - began)
        opened = open_seconds(page, args.runs)
        print(
            f"{target}: elt report {statistics.median(seconds):.2f} s (whole command, median of "
            f"{args.runs}); page {page.stat().st_size / 1e6:.1f} MB; opens in Chromium in "
            f"{opened:.2f} s (goal < {OPEN_GOAL_SECONDS:.0f} s)"
        )


if __name__ == "__main__":
    main()
