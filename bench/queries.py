"""Benchmark what analysts and operators wait for, on the published marts at scale 1.

Usage: python -m bench.queries [--scale 1] [--days 90] [--targets duckdb,postgres]
                                   [--runs 7] [--work DIR] [--reuse | --reuse-data]

For each target: `--days` days of sample data loaded and built (prod environment), then:
1. publish (copy and switch), one more day built and published, rollback and roll forward;
2. the analyst's queries kept in analyses/ (compiled by dbt, pointed at the published
   schema), run as the analyst (PostgreSQL: the elt_analyst role; DuckDB: the published file,
   read-only): one warm-up, then the median of `--runs`; a point lookup of one order;
3. backup (time, size), restore into a scratch warehouse, and the `dbt build` that follows:
   the recovery time (RTO) from a backup.
Prints the figures beside the goals (queries: PostgreSQL < 0.2 s, DuckDB < 0.1 s; lookup
< 10 ms); asserts nothing (timings belong to benchmarks, not tests). `--reuse` keeps the
built warehouse of an earlier run in `--work` and only re-measures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATABASE = "elt_bench_queries"
SCRATCH = "elt_bench_restore"
QUERIES = [  # analyses/<name>.sql, the analyst's usual queries; order_lines is the lookup
    "revenue_by_region_and_month",
    "top_products_per_category",
    "daily_orders_by_channel",
    "customer_cohorts",
    "fulfilment_lead_times_by_channel",
    "order_lines",
]
GOAL_SECONDS = {"postgres": 0.2, "duckdb": 0.1}
LOOKUP_GOAL_SECONDS = 0.010


def run(args: list[str], env: dict[str, str], what: str) -> float:
    began = time.perf_counter()
    result = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.perf_counter() - began


def admin() -> dict[str, Any]:
    return {
        "host": os.environ.get("ELT_PG_HOST", "127.0.0.1"),
        "port": int(os.environ.get("ELT_PG_PORT", "5432")),
        "user": os.environ.get("ELT_PG_ADMIN_USER", "postgres"),
        "password": os.environ.get("ELT_PG_ADMIN_PASSWORD") or None,
    }


def fresh_database(name: str) -> None:
    from elt.pgsetup import Admin, Roles, setup

    a = admin()
    conn = psycopg2.connect(dbname="postgres", **a)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()
    setup(Admin(a["host"], a["port"], a["user"], a["password"], name), Roles())


def environment(target: str, work: Path, database: str = DATABASE) -> dict[str, str]:
    return {
        **os.environ,
        "ELT_ENV": "prod",
        "ELT_EMAIL_HASH_KEY": os.environ.get(
            "ELT_EMAIL_HASH_KEY", "bench-only-email-hash-key-0123456789"
        ),
        "ELT_TARGET": target,
        "ELT_DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "ELT_PG_DATABASE": database,
        "ELT_PG_USER": "elt_transformer",
        "ELT_PG_ADMIN_USER": admin()["user"],
        "ELT_PG_SSLMODE": os.environ.get("ELT_PG_SSLMODE", "prefer"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / f"target-{target}"),
        "DBT_LOG_PATH": str(work / f"logs-{target}"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def elt(env: dict[str, str], *args: str) -> float:
    return run([str(BIN / "elt"), *args], env, f"elt {' '.join(args)}")


def dbt(env: dict[str, str], *args: str) -> float:
    return run([str(BIN / "dbt"), *args, "--project-dir", str(REPO)], env, f"dbt {' '.join(args)}")


def loader_target(target: str) -> str:
    """The loader's login for ``target``, as `elt load` chooses it."""
    from elt.warehouse.profile import load_loader_target

    return load_loader_target(REPO, REPO, target).name


def versions(env: dict[str, str], target: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(BIN / "elt"), "versions", "--target", target, "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: list[dict[str, Any]] = json.loads(out)
    return found


def build_and_publish(
    target: str, work: Path, data: Path, cfg: GeneratorConfig, days: int
) -> dict[str, float]:
    """A fresh warehouse of `days`, published; one more day published; rollback and forward."""
    env = environment(target, work)
    if target == "postgres":
        fresh_database(DATABASE)
    else:
        for stale in work.glob("*.duckdb*"):
            stale.unlink()
        shutil.rmtree(work / "published.versions", ignore_errors=True)
    figures: dict[str, float] = {}
    figures["load"] = elt(
        env, "load", "--target", loader_target(target), "--data-dir", str(data), "--quiet"
    )
    figures["build"] = dbt(env, "build", "--target", target, "--quiet")
    elt(env, "publish", "--target", target)
    generate(data, cfg, days=1, cont=True)
    elt(env, "load", "--target", loader_target(target), "--data-dir", str(data), "--quiet")
    figures["daily build"] = dbt(env, "build", "--target", target, "--quiet")
    figures["publish"] = elt(env, "publish", "--target", target)
    latest = versions(env, target)[-1]
    figures["publish: copy"] = latest["seconds"]["copy"]
    figures["publish: switch"] = latest["seconds"]["switch"]
    figures["rollback"] = elt(env, "rollback", "--target", target)
    elt(env, "rollback", "--target", target, "--to", str(latest["number"]))
    return figures


def compiled_queries(target: str, work: Path, env: dict[str, str], order_id: int) -> dict[str, str]:
    """The analyses compiled by dbt, every mart reference pointed at the published schema."""
    dbt(
        env,
        "compile",
        "--target",
        target,
        "--select",
        "path:analyses",
        "--vars",
        json.dumps({"order_id": order_id}),
        "--quiet",
    )
    manifest = json.loads((work / f"target-{target}" / "manifest.json").read_text())
    marts = {
        n["relation_name"]: f"analytics.{n['alias']}"
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["fqn"][1] == "marts"
    }
    pattern = re.compile("|".join(re.escape(r) for r in sorted(marts, key=len, reverse=True)))
    queries = {}
    for name in QUERIES:
        [path] = (work / f"target-{target}" / "compiled").rglob(f"analyses/{name}.sql")
        queries[name] = pattern.sub(lambda m: marts[m.group(0)], path.read_text())
    return queries


def time_queries(target: str, work: Path, queries: dict[str, str], runs: int) -> dict[str, float]:
    if target == "duckdb":
        con = duckdb.connect(str(work / "published.duckdb"), read_only=True)

        def ask(q: str) -> int:
            return len(con.execute(q).fetchall())
    else:
        a = admin()
        conn = psycopg2.connect(host=a["host"], port=a["port"], user="elt_analyst", dbname=DATABASE)
        conn.autocommit = True
        cur = conn.cursor()

        def ask(q: str) -> int:
            cur.execute(q)
            return len(cur.fetchall())

    medians = {}
    for name, query in queries.items():
        assert ask(query) > 0, name  # warm-up, and a query that finds nothing measures nothing
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            ask(query)
            times.append(time.perf_counter() - began)
        medians[name] = statistics.median(times)
    return medians


def backup_restore(target: str, work: Path) -> dict[str, float]:
    env = environment(target, work)
    backups = work / "backups"
    shutil.rmtree(backups, ignore_errors=True)
    figures = {"backup": elt(env, "backup", "--target", target, "--to", str(backups))}
    [folder] = list(backups.iterdir())
    figures["backup size MB"] = (
        sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6
    )
    scratch = environment(target, work / "restored", SCRATCH)
    (work / "restored").mkdir(exist_ok=True)
    for stale in (work / "restored").glob("*.duckdb*"):
        stale.unlink()
    if target == "postgres":
        fresh_database(SCRATCH)
    figures["restore"] = elt(scratch, "restore", "--target", target, str(folder))
    figures["build after restore"] = dbt(scratch, "build", "--target", target, "--quiet")
    figures["recovery (restore + build)"] = figures["restore"] + figures["build after restore"]
    return figures


def any_order(target: str, work: Path) -> int:
    sql = "select min(order_id) from marts.fct_order_items where order_id > 0"
    if target == "duckdb":
        with duckdb.connect(str(work / "warehouse.duckdb"), read_only=True) as con:
            row = con.execute(sql).fetchone()
    else:
        conn = psycopg2.connect(dbname=DATABASE, **admin())
        with conn.cursor() as cur:
            cur.execute(sql)
            row = cur.fetchone()
        conn.close()
    assert row is not None
    return int(row[0])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--targets", default="duckdb,postgres")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--work", type=Path, default=Path("/tmp/elt-bench-queries"))
    parser.add_argument(
        "--reuse", action="store_true", help="Keep the warehouses built by an earlier run."
    )
    parser.add_argument(
        "--reuse-data", action="store_true", help="Keep the data of an earlier run; build again."
    )
    args = parser.parse_args()
    cfg = GeneratorConfig(scale=args.scale, seed=1, start=dt.date(2025, 1, 6))
    data = args.work / "data"
    if not (args.reuse or args.reuse_data):
        shutil.rmtree(args.work, ignore_errors=True)
        args.work.mkdir(parents=True)
        generate(data, cfg, days=args.days)
    for target in args.targets.split(","):
        work = args.work / target
        work.mkdir(exist_ok=True)
        print(f"\n== {target} (scale {args.scale}, {args.days} days)")
        if not args.reuse:
            for name, seconds in build_and_publish(target, work, data, cfg, args.days).items():
                print(f"  {name:<28} {seconds:8.2f} s")
        env = environment(target, work)
        queries = compiled_queries(target, work, env, any_order(target, work))
        goal = GOAL_SECONDS[target]
        for name, seconds in time_queries(target, work, queries, args.runs).items():
            limit = LOOKUP_GOAL_SECONDS if name == "order_lines" else goal
            verdict = "ok" if seconds < limit else "OVER"
            print(
                f"  query {name:<34} {seconds * 1000:8.1f} ms  (goal < {limit * 1000:.0f} ms: {verdict})"
            )
        for name, value in backup_restore(target, work).items():
            unit = "" if name.endswith("MB") else " s"
            print(f"  {name:<28} {value:8.2f}{unit}")


if __name__ == "__main__":
    main()
