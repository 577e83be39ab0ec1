"""Benchmark what a night costs against what its new data costs (issue 29's table).

Usage: python -m bench.dbt_incremental [--scale 1] [--days 90] [--targets duckdb,postgres]
                                      [--keep DIR]

For each target, on the sample data at `--scale`, every step run as the operator runs it
(`elt daily`, `elt build`, `elt dbt ...` in a subprocess), each reported with dbt's `elapsed`
(run_results.json), dbt's wall (its invocation from start to results: start-up and parse
included) and the command's wall time (a night's load, publication and page included):
1. `--days` days of history loaded, `elt daily` (the first night: everything);
2. one more day: the incremental night (`elt daily`: scoped to what the day's files reach);
   then, on a copy of the warehouse taken before it (the same day, the same data), `dbt run`
   alone, and `dbt build --full-refresh`;
3. a night without new files (`elt daily` again);
4. `--days - 2` days loaded at once: the catch-up night (`elt daily`), then `dbt build
   --full-refresh` on the same data;
5. one more day: the incremental night at twice the history.
Prints each figure beside its goal and the peak memory (max RSS) of the full builds; asserts
nothing (timings belong to benchmarks, not tests). ``--keep DIR`` keeps each step's
run_results.json there (``<target>-<step>.json``), to compare nodes between steps.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BENCH_DB = "elt_bench_dbt"
NODE = "model.elt_warehouse.fct_order_items"
# a gate's check as `elt publish` names it when it blocks: anomaly:fct_orders.orders
BLOCKING = re.compile(r"\b((?:volume|anomaly|restated|redelivery):[^\s:]+)")


@dataclasses.dataclass(frozen=True)
class Step:
    wall: float  # the command, start to end (a night: load, dbt, publication, page)
    elapsed: float | None  # dbt's own elapsed_time (None: dbt did not run)
    node: float | None  # fct_order_items
    nodes: int  # models, tests, seeds and snapshots dbt ran
    peak_mb: float  # the largest child process so far (max RSS)
    dbt_wall: float | None = None  # dbt's invocation, start-up and parse included

    def show(self) -> str:
        if self.elapsed is None:
            return f"wall {self.wall:6.1f} s, no dbt"
        return (
            f"wall {self.wall:6.1f} s, dbt wall {self.dbt_wall or 0:6.1f} s, "
            f"elapsed {self.elapsed:6.1f} s, {self.nodes:3d} nodes"
        )


@contextlib.contextmanager
def admin() -> Iterator[psycopg2.extensions.cursor]:
    """A cursor of the administrator's, outside any transaction (CREATE and DROP DATABASE)."""
    conn = psycopg2.connect(
        host=os.environ.get("ELT_PG_HOST", "127.0.0.1"),
        port=os.environ.get("ELT_PG_PORT", "5432"),
        user=os.environ.get("ELT_PG_ADMIN_USER", "postgres"),
        password=os.environ.get("ELT_PG_ADMIN_PASSWORD", ""),
        dbname="postgres",
    )
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


class Warehouse:
    """The benchmark's warehouse, and copies of it (the same day's data for another run)."""

    def __init__(self, target: str, work: Path, keep: Path | None = None) -> None:
        self.target, self.work, self.keep = target, work, keep
        self.said = ""  # the last command's standard error
        self.env = {
            **os.environ,
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "ELT_TARGET": target,
            "ELT_ENV": "dev",
            "ELT_DEV_USER": "bench",
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
            "ELT_DUCKDB_PATH": str(work / "bench.duckdb"),
            "ELT_PG_DATABASE": BENCH_DB,
            "ELT_DATA_DIR": str(work / "data"),
            "ELT_STATE_DIR": str(work / "state"),
            "ELT_REPORT_PATH": str(work / "report.html"),
            "ELT_ALERT_COMMAND": "",
            "ELT_ALL_ROWS_EVERY_DAYS": "0",  # the weekly all-rows night is not a night's cost
        }
        if target == "postgres":
            self.recreate(BENCH_DB)
            self.elt("setup-postgres")

    def recreate(self, name: str, template: str | None = None) -> None:
        with admin() as cur:
            cur.execute(f"drop database if exists {name} with (force)")
            cur.execute(f"create database {name}" + (f" template {template}" if template else ""))

    def snapshot(self) -> None:
        """Keep the warehouse as it is now, to run something else on the same data later."""
        if self.target == "duckdb":
            shutil.copyfile(self.work / "bench.duckdb", self.work / "snapshot.duckdb")
            return
        self.recreate(f"{BENCH_DB}_snapshot", template=BENCH_DB)
        self.elt("setup-postgres", env={**self.env, "ELT_PG_DATABASE": f"{BENCH_DB}_snapshot"})
        # a new database starts without planner statistics: as the original had them
        with psycopg2.connect(
            host=os.environ.get("ELT_PG_HOST", "127.0.0.1"),
            port=os.environ.get("ELT_PG_PORT", "5432"),
            user=os.environ.get("ELT_PG_ADMIN_USER", "postgres"),
            dbname=f"{BENCH_DB}_snapshot",
        ) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("analyze")

    @contextlib.contextmanager
    def snapshot_in_place(self) -> Iterator[None]:
        """The snapshot under the warehouse's own name (dbt's partial parse stays valid),
        then the warehouse back."""
        if self.target == "duckdb":
            live, kept, aside = (
                self.work / n for n in ("bench.duckdb", "snapshot.duckdb", "after.duckdb")
            )
            live.rename(aside)
            kept.rename(live)
            try:
                yield
            finally:
                live.rename(kept)
                aside.rename(live)
                kept.unlink()
            return
        renames = [(BENCH_DB, f"{BENCH_DB}_after"), (f"{BENCH_DB}_snapshot", BENCH_DB)]
        with admin() as cur:
            for old, new in renames:
                cur.execute(f"alter database {old} rename to {new}")
        try:
            yield
        finally:
            with admin() as cur:
                cur.execute(f"drop database {BENCH_DB} with (force)")
                cur.execute(f"alter database {BENCH_DB}_after rename to {BENCH_DB}")

    def publish_reviewed(self, reason: str) -> None:
        """`elt publish`; when the gates block it, publish again accepting the checks they
        named, as an operator does after reviewing a catch-up (failed tests still block)."""
        state = ("--state-dir", str(self.work / "state"))
        self.elt("publish", *state, blocked_ok=True)
        blocking = sorted(set(BLOCKING.findall(self.said)))
        if blocking:
            accept = (f"--accept={check}" for check in blocking)
            self.elt("publish", *state, *accept, f"--reason={reason}")

    def elt(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        blocked_ok: bool = False,
        step: str = "",
    ) -> Step:
        """`elt <args>`; its wall time and, when it ran dbt, dbt's figures. ``blocked_ok``: a
        night whose publication the audit blocks (a catch-up is a large restatement to the
        gates) still measures its build, which must have passed. ``step`` names the
        run_results kept for ``--keep``."""
        results = self.work / "target" / "run_results.json"
        since = time.time()
        began = time.perf_counter()
        done = subprocess.run(
            [str(BIN / "elt"), *args],
            cwd=REPO,
            env=env or self.env,
            capture_output=True,
            check=False,
            text=True,
        )
        wall = time.perf_counter() - began
        self.said = done.stderr
        if done.returncode != 0 and not (blocked_ok and "publication blocked" in done.stderr):
            raise SystemExit(
                f"elt {' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
            )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if not results.exists() or results.stat().st_mtime < since:  # dbt did not run
            return Step(wall, None, None, 0, peak)
        runs = json.loads(results.read_text())
        if self.keep is not None and step:
            self.keep.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(results, self.keep / f"{self.target}-{step}.json")
        failed = [r["unique_id"] for r in runs["results"] if r["status"] in ("error", "fail")]
        if failed:
            raise SystemExit(f"elt {' '.join(args)}: dbt nodes failed: {failed[:5]}")
        node = next((r["execution_time"] for r in runs["results"] if r["unique_id"] == NODE), None)
        ran = [
            r
            for r in runs["results"]
            if r["unique_id"].split(".")[0] in ("model", "test", "seed", "snapshot", "unit_test")
        ]
        meta = runs["metadata"]
        dbt_wall = (
            dt.datetime.fromisoformat(meta["generated_at"])
            - dt.datetime.fromisoformat(meta["invocation_started_at"])
        ).total_seconds()
        return Step(wall, float(runs["elapsed_time"]), node, len(ran), peak, dbt_wall)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:5.2f}" if a is not None and b else "  n/a"


def bench_target(
    target: str, work: Path, cfg: GeneratorConfig, days: int, keep: Path | None = None
) -> None:
    wh = Warehouse(target, work, keep)
    data = work / "data"

    def add_days(n: int) -> None:
        generate(data, cfg, days=n, cont=(data / "_meta").exists())

    add_days(days)
    first = wh.elt("daily", step="first")
    add_days(1)
    wh.elt("load")
    wh.snapshot()
    night = wh.elt("daily", step="night")
    with wh.snapshot_in_place():
        run_only = wh.elt("dbt", "run", step="run")
    full = wh.elt("dbt", "build", "--full-refresh", step="full")
    wh.elt("publish", "--state-dir", str(work / "state"))
    nothing = wh.elt("daily", step="nothing")
    add_days(days - 2)
    catch_up = wh.elt("daily", blocked_ok=True, step="catch-up")
    full_2x = wh.elt("dbt", "build", "--full-refresh", step="full-2x")
    # the operator reviews the catch-up the gates block (a quarter of data at once) and
    # publishes it: the next night is a regular one, testing only its own loads (after a
    # blocked night, a night also re-tests every load since the last publication)
    wh.publish_reviewed("bench: an 88-day catch-up, reviewed")
    add_days(1)
    night_2x = wh.elt("daily", blocked_ok=True, step="night-2x")

    t = f"{target:9}"
    print(f"{t} first night ({days} days):           {first.show()}")
    print(f"{t} incremental night (+1 day):        {night.show()}")
    print(f"{t} full refresh, same data:           {full.show()}, peak {full.peak_mb:,.0f} MB")
    print(f"{t} dbt run alone, same day and data:  {run_only.show()}")
    print(f"{t} night without new files:           {nothing.show()}")
    print(f"{t} {days - 2}-day catch-up night:             {catch_up.show()}")
    print(f"{t} full refresh at {2 * days - 1} days:          {full_2x.show()}")
    print(f"{t} incremental night at {2 * days} days:      {night_2x.show()}")
    print(
        f"{t} fct_order_items node, incremental / full: {ratio(night.node, full.node)} (goal <= 0.15)"
    )
    print(
        f"{t} whole build, incremental / full: elapsed {ratio(night.elapsed, full.elapsed)}, "
        f"dbt wall {ratio(night.dbt_wall, full.dbt_wall)}, night wall / full refresh wall "
        f"{ratio(night.wall, full.wall)} (goal <= 0.2, wall included)"
    )
    print(
        f"{t} dbt build / dbt run, same day: elapsed {ratio(night.elapsed, run_only.elapsed)}, "
        f"dbt wall {ratio(night.dbt_wall, run_only.dbt_wall)} (goal <= 1.3)"
    )
    print(
        f"{t} night without new files / incremental night: wall {ratio(nothing.wall, night.wall)} (goal <= 0.25)"
    )
    print(
        f"{t} incremental night at {2 * days} / {days} days: elapsed {ratio(night_2x.elapsed, night.elapsed)}, "
        f"dbt wall {ratio(night_2x.dbt_wall, night.dbt_wall)}, "
        f"night wall {ratio(night_2x.wall, night.wall)} (goal <= 1.1)"
    )
    print(
        f"{t} {days - 2}-day catch-up / full refresh: elapsed {ratio(catch_up.elapsed, full_2x.elapsed)}, "
        f"dbt wall {ratio(catch_up.dbt_wall, full_2x.dbt_wall)} (goal <= 1.0)",
        flush=True,
    )
    print(
        f"{t} peak memory (max RSS of a child process): {max(full.peak_mb, full_2x.peak_mb):,.0f} MB"
    )
    (work / "bench.duckdb").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--keep", type=Path, help="keep each step's run_results.json here")
    args = parser.parse_args()
    print(
        f"dbt night benchmark: scale {args.scale}, {args.days} days of history + 1, a night "
        f"without files, a {args.days - 2}-day catch-up, + 1; {os.cpu_count()} cores",
        flush=True,
    )
    for target in args.targets.split(","):
        with tempfile.TemporaryDirectory(prefix="elt-bench-dbt-") as tmp:
            bench_target(target, Path(tmp), GeneratorConfig(scale=args.scale), args.days, args.keep)


if __name__ == "__main__":
    main()
