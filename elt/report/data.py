"""What the monitoring page shows, read from the warehouse in one short visit.

The run history and pipeline health come from the build area (``<prefix>marts``: the
operations marts, views over ``raw._elt_runs`` and friends, so the build that just ended is
in them); the business figures come from the published marts (``<prefix>analytics``), what
analysts see (on Spark: the views of that database, read through the profile's Spark). On DuckDB both files are attached read-only to an in-memory database and
detached as soon as the rows are fetched: the page never holds a lock while it renders, and
a build that holds the file makes the report wait (``lock_timeout``) rather than the build.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg2

from elt.environment import Environment
from elt.errors import LoaderError
from elt.warehouse.duckdb_file import wait_for_lock
from elt.warehouse.engines import choose, published_path
from elt.warehouse.profile import Target

Rows = list[dict[str, Any]]
Query = Callable[[str], Rows]


@dataclasses.dataclass(frozen=True)
class Names:
    """Qualified names of the relations the page reads, per database."""

    marts: str  # the build area's marts schema, qualified
    published: str  # the published schema, qualified

    def mart(self, name: str) -> str:
        return f"{self.marts}.{name}"

    def analytics(self, name: str) -> str:
        return f"{self.published}.{name}"


def _plain(value: Any) -> Any:
    """Values as the page needs them: decimals as floats, dates as ISO text."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def _duckdb(target: Target, env: Environment, lock_timeout: float) -> Iterator[tuple[Query, Names]]:
    build = Path(str(target.settings.get("path")))
    published = published_path(build, env)
    if not build.exists():
        raise LoaderError(f"the warehouse {build} does not exist: `make load build` first")
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    try:
        wait_for_lock(
            lambda: con.execute(f"attach '{build}' as build (read_only)"),
            f"the warehouse {build}",
            lock_timeout,
            "dbt or the loader holds it",
        )
    except LoaderError:
        con.close()
        raise
    has_published = published.exists()
    if has_published:
        con.execute(f"attach '{published}' as published (read_only)")

    def query(sql: str) -> Rows:
        cur = con.execute(sql)
        columns = [d[0] for d in cur.description or []]
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in cur.fetchall()]

    names = Names(
        f"build.{_q(env.schema('marts'))}",
        f"published.{_q(env.published_schema)}" if has_published else "",
    )
    try:
        yield query, names
    finally:
        con.close()


@contextmanager
def _postgres(target: Target, env: Environment) -> Iterator[tuple[Query, Names]]:
    from elt.warehouse.postgres import open_target

    conn = open_target(target, "elt-report")
    conn.set_session(readonly=True, autocommit=True)

    def query(sql: str) -> Rows:
        with conn.cursor() as cur:
            cur.execute(sql)
            columns = [d[0] for d in cur.description or []]
            return [dict(zip(columns, map(_plain, row), strict=True)) for row in cur.fetchall()]

    published = env.published_schema
    with conn.cursor() as cur:
        cur.execute(
            "select count(*) from information_schema.views where table_schema = %s", [published]
        )
        row = cur.fetchone()
        has_published = bool(row and row[0])
    try:
        yield query, Names(_q(env.schema("marts")), _q(published) if has_published else "")
    finally:
        conn.close()


@contextmanager
def _spark(target: Target, env: Environment) -> Iterator[tuple[Query, Names]]:
    from elt.warehouse.spark_catalog import bq, open_catalog

    catalog = open_catalog(target.settings, work=True)

    def query(sql: str) -> Rows:
        columns, rows = catalog.query(sql)
        return [dict(zip(columns, map(_plain, row), strict=True)) for row in rows]

    published = env.published_schema
    has_published = bool(catalog.sql(f"show databases like '{published}'")) and bool(
        catalog.sql(f"show views in {bq(published)}")
    )
    try:
        yield query, Names(bq(env.schema("marts")), bq(published) if has_published else "")
    finally:
        catalog.close()


@contextmanager
def open_reader(
    target: Target, env: Environment, lock_timeout: float
) -> Iterator[tuple[Query, Names]]:
    reader = choose(
        target,
        {
            "duckdb": lambda: _duckdb(target, env, lock_timeout),
            "postgres": lambda: _postgres(target, env),
            "spark": lambda: _spark(target, env),
        },
        "the monitoring page",
    )
    with reader as opened:
        yield opened


def queries(
    names: Names, env: Environment, since: dt.date, days: int, measures: dict[str, str]
) -> dict[str, str]:
    """Every dataset of the page: its SQL (the same on both databases). Runs and loads are
    shown from ``since``; the business figures for the last ``days`` days of orders."""
    label = env.label.replace("'", "''")
    day = f"cast('{since.isoformat()}' as date)"
    lines, orders = names.analytics("fct_order_items"), names.analytics("fct_orders")
    first_order_day = f"(select max(order_date) from {lines}) - {days - 1}"
    sql = {
        "latest_runs": f"""
            select invocation_id, run_command, run_status, run_started_at, run_finished_at,
                run_seconds, items, failed_items, warned_items, skipped_items,
                failed_item_names, rows_loaded, git_commit, is_load
            from {names.mart("rpt_runs")}
            where environment_name = '{label}' and is_latest
            order by is_load desc""",
        # a failure stays listed, with whether a later run of the same node passed since
        "problem_nodes": f"""
            select problem.run_date, problem.run_started_at, problem.resource_type,
                problem.node_name, problem.node_status, problem.failures, problem.node_message,
                case when exists (
                    select 1 from {names.mart("rpt_dbt_node_runs")} as later
                    where later.environment_name = problem.environment_name
                        and later.unique_id = problem.unique_id
                        and later.run_started_at > problem.run_started_at
                        and later.node_status in ('pass', 'success')
                ) then 'resolved' else 'open' end as node_state
            from {names.mart("rpt_dbt_node_runs")} as problem
            where problem.environment_name = '{label}' and problem.run_date >= {day}
                and problem.node_status in ('fail', 'error', 'warn')
            order by problem.run_started_at desc, problem.node_status, problem.node_name
            limit 200""",
        # each test's latest result of the day: a rerun replaces, it does not add
        "test_results": f"""
            with latest as (
                select run_date, unique_id, node_status,
                    row_number() over (
                        partition by run_date, unique_id
                        order by run_started_at desc, node_started_at desc
                    ) as nth
                from {names.mart("rpt_dbt_node_runs")}
                where environment_name = '{label}' and run_date >= {day} and is_test
            )
            select run_date, count(*) as tests_run,
                sum(case when node_status = 'pass' then 1 else 0 end) as tests_passed,
                sum(case when node_status = 'warn' then 1 else 0 end) as tests_warned,
                sum(case when node_status = 'fail' then 1 else 0 end) as tests_failed,
                sum(case when node_status = 'error' then 1 else 0 end) as tests_errored,
                sum(case when node_status = 'skipped' then 1 else 0 end) as tests_skipped
            from latest where nth = 1
            group by run_date
            order by run_date""",
        # seconds per run (the day's runs averaged): a rerun does not look like a slower day
        "run_durations": f"""
            select run_date, run_command, runs, failed_runs, total_seconds,
                total_seconds / runs as seconds_per_run, wall_clock_seconds
            from {names.mart("rpt_daily_run_durations")}
            where environment_name = '{label}' and run_date >= {day} and runs > 0
            order by run_date, run_command""",
        "slowest_models": f"""
            select model_name, latest_seconds, average_seconds, slowest_seconds, runs_counted
            from {names.mart("rpt_model_timings")}
            where environment_name = '{label}'
            order by latest_seconds desc, model_name
            limit 15""",
        "pipeline_health": f"""
            select load_date, source_table, files_loaded, files_failed, rows_loaded,
                rows_quarantined, quarantine_rate, rows_rejected, reject_rate,
                freshness_lag_hours
            from {names.mart("rpt_pipeline_health")}
            where load_date >= {day}
            order by load_date, source_table""",
    }

    def revenue_by(dimension: str, key: str, column: str) -> str:
        return f"""
            select lines.order_date, dim.{column},
                {measures["gross_revenue_usd"]} as revenue_usd
            from {lines} as lines
            inner join {names.analytics(dimension)} as dim
                on lines.{key} = dim.{key}
            where lines.order_date >= {first_order_day}
            group by lines.order_date, dim.{column}
            order by lines.order_date, dim.{column}"""

    if names.published:
        sql |= {
            # the semantic layer's measures (elt.semantic_layer.measures): revenue (the
            # `revenue` metric), orders, net revenue and valued orders (the average order value)
            "revenue_by_region": revenue_by("dim_geography", "geography_sk", "region"),
            "revenue_by_category": revenue_by("dim_product", "product_sk", "category"),
            "orders_by_region": f"""
                select cast(orders.ordered_at as date) as order_date, geo.region,
                    {measures["order_count"]} as orders,
                    {measures["net_revenue_usd"]} as net_revenue_usd,
                    {measures["valued_order_count"]} as valued_orders
                from {orders} as orders
                inner join {names.analytics("dim_geography")} as geo
                    on orders.geography_sk = geo.geography_sk
                where cast(orders.ordered_at as date) >= {first_order_day}
                group by cast(orders.ordered_at as date), geo.region
                order by order_date, geo.region""",
        }
    return sql


@dataclasses.dataclass
class ReportData:
    environment: str
    target: str
    generated_at: str
    since: str
    published: bool
    datasets: dict[str, Rows]
    read_seconds: float
    # elt status's document (elt.publish.status): what analysts read, last night's outcome
    publication: dict[str, Any] = dataclasses.field(default_factory=dict)


def collect(
    target: Target,
    env: Environment,
    days: int,
    lock_timeout: float,
    measures: dict[str, str],
    today: dt.date | None = None,
) -> ReportData:
    """Every dataset, fetched in one visit to the warehouse (closed before rendering)."""
    now = dt.datetime.now(dt.UTC)
    since = (today or now.date()) - dt.timedelta(days=days - 1)
    began = time.perf_counter()
    with open_reader(target, env, lock_timeout) as (query, names):
        datasets = {}
        for name, sql in queries(names, env, since, days, measures).items():
            try:
                datasets[name] = query(sql)
            except (duckdb.Error, psycopg2.Error) as exc:
                raise LoaderError(
                    f"report: the query {name!r} failed on {target.name} ({' '.join(str(exc).split())[:300]}); "
                    "has `dbt build` run with this version of the project?"
                ) from None
    return ReportData(
        environment=env.label,
        target=target.name,
        generated_at=now.isoformat(sep=" ", timespec="seconds"),
        since=since.isoformat(),
        published=bool(names.published),
        datasets=datasets,
        read_seconds=time.perf_counter() - began,
    )
