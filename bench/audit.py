"""Benchmark the publication audit: its cost against the nightly build, and its false blocks.

Usage: python -m bench.audit [--scale 1] [--days 90] [--targets duckdb,postgres]
                                 [--nights 90] [--nights-scale 0.01]

1. **Cost**, per target, at `--scale` with `--days` of history: load, `dbt build`, publish;
   then one more day: load, `dbt build` (incremental; dbt's `elapsed_time` and the wall time
   of the command), then the audit of that build (the diff of every mart against the
   published version and the gates: `elt.publish.review`), timed apart from the copy.
   Goal: the audit at most 10% of the incremental build.
2. **False blocks** (DuckDB): `make run`'s dataset (`--nights-scale`, 30 days) published,
   then `--nights` nights of one new day each, loaded, built and published; every blocked
   night is printed with its reasons. Goal: 0.

Asserts nothing (timings belong to benchmarks, not tests); the injected cases the audit must
block are proven by the tests (elt/tests/test_audit.py).
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

from elt.environment import current
from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.loader.run import LoadOptions, load
from elt.publish.audit import audit
from elt.publish.review import review
from elt.publish.run import open_store, publish_night
from elt.warehouse.profile import load_loader_target, load_target

REPO = Path(__file__).resolve().parents[1]
BENCH_DB = "elt_bench_audit"


def _dbt_build(env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, dbt's elapsed_time) of one `dbt build`."""
    began = time.perf_counter()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(REPO)],
        cwd=REPO,
        env=env,
        capture_output=True,
        check=False,
        text=True,
    )
    wall = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{result.stdout[-4000:]}")
    target = Path(env["DBT_TARGET_PATH"])
    elapsed = float(json.loads((target / "run_results.json").read_text())["elapsed_time"])
    return wall, elapsed


def _fresh_postgres_database() -> None:
    from bench.queries import fresh_database

    fresh_database(BENCH_DB)  # the project's set-up: database, roles, ownership


def _environment(target: str, work: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_PROFILES_DIR": str(REPO),
        "ELT_TARGET": target,
        "ELT_ENV": "prod",
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "ELT_DUCKDB_PATH": str(work / "bench.duckdb"),
        "ELT_PG_DATABASE": BENCH_DB,
        "ELT_EMAIL_HASH_KEY": os.environ.get(
            "ELT_EMAIL_HASH_KEY", "bench-only-email-hash-key-0123456789"
        ),
    }
    os.environ.update(env)
    return env


class Night:
    """Add days, load, build, publish; the audit timed on its own."""

    def __init__(self, target: str, work: Path, cfg: GeneratorConfig) -> None:
        self.target, self.work, self.cfg = target, work, cfg
        self.env = _environment(target, work)
        self.data = work / f"data-{target}"
        # on PostgreSQL the loader logs in as its own role (as `make load` does)
        self.opts = LoadOptions(
            project_dir=REPO, data_dir=self.data, target=load_loader_target(REPO, REPO, target)
        )
        self.resolved = load_target(REPO, REPO, target)

    def add_days(self, n: int) -> None:
        generate(self.data, self.cfg, days=n, cont=(self.data / "_meta").exists())
        if not load(self.opts).ok:
            raise SystemExit("the load failed")

    def audit_seconds(self) -> tuple[float, float]:
        """(diff seconds, whole audit seconds) of the last build against what analysts read."""
        target = Path(self.env["DBT_TARGET_PATH"])
        checked = audit(target / "run_results.json", target / "manifest.json")
        store = open_store(self.resolved, current())
        try:
            live = next((v for v in store.versions() if v.is_current), None)
            began = time.perf_counter()
            rv = review(store, checked, target / "manifest.json", live)
            took = time.perf_counter() - began
        finally:
            store.close()
        return (rv.diff.seconds if rv.diff else 0.0), took

    def publish(self) -> tuple[str, list[str]]:
        target = Path(self.env["DBT_TARGET_PATH"])
        checked = audit(target / "run_results.json", target / "manifest.json")
        store = open_store(self.resolved, current())
        try:
            outcome = publish_night(store, checked, target / "manifest.json", current(), REPO, 3)
        finally:
            store.close()
        return outcome.status, outcome.lines


def bench_cost(target: str, work: Path, scale: float, days: int) -> None:
    if target == "postgres":
        _fresh_postgres_database()
    night = Night(target, work, GeneratorConfig(scale=scale))
    night.add_days(days)
    _dbt_build(night.env)
    status, lines = night.publish()
    assert status == "published", lines
    night.add_days(1)
    wall, elapsed = _dbt_build(night.env)
    diff_seconds, audit_seconds = night.audit_seconds()
    print(
        f"{target:9} scale {scale}, {days} days + 1: incremental dbt build {elapsed:6.1f} s "
        f"(wall {wall:6.1f} s); audit {audit_seconds:5.2f} s (the diff {diff_seconds:5.2f} s) "
        f"= {audit_seconds / elapsed:.1%} of dbt's elapsed, {audit_seconds / wall:.1%} of the wall "
        "(goal <= 10%)",
        flush=True,
    )
    status, lines = night.publish()
    print(f"{target:9} that night: {lines[0]}", flush=True)


def bench_false_blocks(work: Path, scale: float, nights: int) -> None:
    night = Night("duckdb", work, GeneratorConfig(scale=scale))
    night.add_days(30)
    _dbt_build(night.env)
    night.publish()
    blocked = []
    began = time.perf_counter()
    for n in range(1, nights + 1):
        night.add_days(1)
        _dbt_build(night.env)
        status, lines = night.publish()
        if status != "published":
            blocked.append(n)
            print(f"night {n}: {status}\n  " + "\n  ".join(lines), flush=True)
    print(
        f"false blocks: {len(blocked)} of {nights} nights of normal data (scale {scale}, "
        f"30 + {nights} days; goal 0) in {time.perf_counter() - began:.0f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--nights", type=int, default=90)
    parser.add_argument("--nights-scale", type=float, default=0.01)
    args = parser.parse_args()
    print(f"audit benchmark: {os.cpu_count()} cores", flush=True)
    for target in (t for t in args.targets.split(",") if t):
        with tempfile.TemporaryDirectory(prefix="elt-bench-audit-") as tmp:
            bench_cost(target, Path(tmp), args.scale, args.days)
    if args.nights:
        with tempfile.TemporaryDirectory(prefix="elt-bench-audit-") as tmp:
            bench_false_blocks(Path(tmp), args.nights_scale, args.nights)


if __name__ == "__main__":
    main()
