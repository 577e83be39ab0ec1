"""PostgreSQL roles, grants and PII: the whole pipeline as the loader and transformer roles,
then what the analyst role can and cannot do."""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.pgsetup import Admin, Roles, setup
from elt.tests.conftest import (
    ANALYST_MARTS,
    OPERATIONS_MARTS,
    REPO,
    RUN_HISTORY_MARTS,
    pg_settings,
    run_elt,
)
from elt.tests.dbt_runner import dbt
from elt.warehouse.profile import load_target

pytestmark = pytest.mark.postgres


def connect_as(role: str, database: str) -> psycopg2.extensions.connection:
    s = pg_settings()
    conn = psycopg2.connect(host=s["host"], port=s["port"], user=role, dbname=database)
    conn.autocommit = True
    return conn


def denied(conn: psycopg2.extensions.connection, statement: str) -> bool:
    with conn.cursor() as cur:
        try:
            cur.execute(statement)
        except psycopg2.errors.InsufficientPrivilege:
            return True
    return False


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory, postgres_available: None) -> Iterator[str]:
    """A database built end to end by the project's roles: loaded as elt_loader, dbt as elt_transformer."""
    work = tmp_path_factory.mktemp("secure")
    s = pg_settings()
    name = f"elt_security_{uuid.uuid4().hex[:10]}"  # a database of its own (parallel workers)
    admin = psycopg2.connect(dbname="postgres", **s)
    admin.autocommit = True
    setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, name), Roles())
    data = work / "data"
    generate(data, GeneratorConfig(scale=0.02, seed=5, start=dt.date(2025, 3, 3)), days=6)
    env = {"ELT_PG_DATABASE": name, "ELT_PG_LOADER_USER": "elt_loader"}
    loaded = run_elt(
        "load", "--target", "postgres_loader", "--data-dir", str(data), "--quiet", env=env
    )
    assert loaded.returncode == 0, loaded.stderr
    result = dbt_as_transformer(work, name, "build")
    assert result.returncode == 0, result.stdout[-4000:]
    published = publish_as_transformer(work, name)
    assert published.returncode == 0, published.stderr
    yield name
    with admin.cursor() as cur:
        cur.execute(f"drop database if exists {name} with (force)")
    admin.close()


def dbt_as_transformer(work: Path, database: str, *args: str):
    old = os.environ.get("ELT_PG_USER")
    os.environ["ELT_PG_USER"] = "elt_transformer"
    try:
        return dbt(work, "postgres", *args, database=database)
    finally:
        if old is None:
            os.environ.pop("ELT_PG_USER", None)
        else:
            os.environ["ELT_PG_USER"] = old


def publish_as_transformer(work: Path, database: str):
    return run_elt(
        "publish",
        "--target",
        "postgres",
        env={
            "ELT_PG_DATABASE": database,
            "ELT_PG_USER": "elt_transformer",
            "DBT_TARGET_PATH": str(work / "target"),
        },
    )


def test_raw_belongs_to_the_loader_and_models_to_the_transformer(warehouse: str) -> None:
    conn = connect_as(pg_settings()["user"], warehouse)
    with conn.cursor() as cur:
        cur.execute("select distinct tableowner from pg_tables where schemaname = 'raw'")
        assert cur.fetchall() == [("elt_loader",)]
        cur.execute(
            "select distinct tableowner from pg_tables where schemaname in ('marts', 'snapshots', 'reference')"
        )
        assert cur.fetchall() == [("elt_transformer",)]


def test_analyst_reads_every_published_mart(warehouse: str) -> None:
    conn = connect_as("elt_analyst", warehouse)
    with conn.cursor() as cur:
        for mart in ANALYST_MARTS:
            cur.execute(f"select count(*) from analytics.{mart}")
            assert cur.fetchone()[0] > 0, mart  # type: ignore[index]
    conn.close()


def test_built_tables_are_analyzed_and_analysts_run_without_jit(warehouse: str) -> None:
    """Analysts' plans rest on real statistics: every table dbt builds is analyzed right
    after (autovacuum would wait for enough changes); and JIT, which costs more than it
    saves on their short queries and on a night's, is off for their role and dbt's."""
    conn = connect_as("postgres", warehouse)
    with conn.cursor() as cur:
        cur.execute(
            "select schemaname || '.' || relname from pg_stat_user_tables "
            "where schemaname in ('intermediate', 'marts') and last_analyze is null"
        )
        never = cur.fetchall()
        cur.execute(
            "select count(*) from pg_stat_user_tables where schemaname in ('intermediate', 'marts')"
        )
        tables = cur.fetchone()
    conn.close()
    assert tables
    assert tables[0] > 10
    assert never == []
    for role in ("elt_analyst", "elt_transformer"):  # dbt's nights, analysts' queries
        login = connect_as(role, warehouse)
        with login.cursor() as cur:
            cur.execute("show jit")
            assert cur.fetchone() == ("off",), role
        login.close()


def test_analyst_cannot_read_raw_staging_snapshots_or_operations(warehouse: str) -> None:
    """Nor the build area (issue 14: analysts read a mart whose test had failed): only what
    `elt publish` put in analytics."""
    conn = connect_as("elt_analyst", warehouse)
    for table in [
        *(f"marts.{mart}" for mart in ANALYST_MARTS),
        *(f"analytics.{mart}" for mart in OPERATIONS_MARTS if mart not in RUN_HISTORY_MARTS),
        "analytics__v000001.fct_orders",
        "publish.versions",
        "raw.shop__customers",
        "raw._elt_manifest",
        "staging.stg_shop__customers",
        "snapshots.snp_rpt_daily_sales",
        "intermediate.int_customer_versions",
        "intermediate.int_orders_resolved",
        *(f"marts.{mart}" for mart in OPERATIONS_MARTS),
    ]:
        assert denied(conn, f"select * from {table} limit 1"), table
    # the run history's views are never published at all
    with conn.cursor() as cur:
        cur.execute(
            "select table_name from information_schema.tables where table_schema = 'analytics'"
        )
        assert not {r[0] for r in cur.fetchall()} & set(RUN_HISTORY_MARTS)
    conn.close()


def test_analyst_cannot_change_the_marts(warehouse: str) -> None:
    conn = connect_as("elt_analyst", warehouse)
    assert denied(conn, "insert into analytics.dim_channel (channel_sk, channel) values ('x', 'x')")
    assert denied(conn, "update analytics.fct_orders set net_revenue = 0")
    assert denied(conn, "delete from analytics.fct_payments")
    assert denied(conn, "drop view analytics.rpt_daily_sales")
    assert denied(conn, "create table analytics.mine (id int)")
    assert denied(conn, "create table marts.mine (id int)")
    conn.close()


def test_no_mart_column_holds_an_email_or_a_name(warehouse: str) -> None:
    conn = connect_as(pg_settings()["user"], warehouse)
    with conn.cursor() as cur:
        cur.execute("""select distinct lower(trim(v)) from raw.shop__customers,
                       lateral (values (email), (first_name), (last_name), (first_name || ' ' || last_name)) as t(v)
                       where v is not null and length(trim(v)) > 2""")
        personal = {r[0] for r in cur.fetchall()}
        assert len(personal) > 100
        cur.execute("""select table_name, column_name from information_schema.columns
                       where table_schema = 'marts' and data_type in ('text', 'character varying')""")
        columns = cur.fetchall()
        found = []
        for table, column in columns:
            cur.execute(
                f'select distinct lower(trim("{column}")) from marts."{table}" where "{column}" is not null'
            )
            leaked = personal & {r[0] for r in cur.fetchall()}
            if leaked:
                found.append((table, column, sorted(leaked)[:3]))
        assert found == []
        cur.execute("select count(*) from marts.dim_customer where email_hash is not null")
        assert cur.fetchone()[0] > 0  # type: ignore[index]


def test_setup_and_grants_are_idempotent(warehouse: str, tmp_path: Path) -> None:
    s = pg_settings()
    again = run_elt(
        "setup-postgres", env={"ELT_PG_DATABASE": warehouse, "ELT_PG_ADMIN_USER": s["user"]}
    )
    assert again.returncode == 0, again.stderr
    assert "created database" not in again.stdout
    rebuilt = dbt_as_transformer(tmp_path, warehouse, "build")
    assert rebuilt.returncode == 0, rebuilt.stdout[-3000:]
    published = publish_as_transformer(tmp_path, warehouse)
    assert published.returncode == 0, published.stderr
    test_analyst_reads_every_published_mart(warehouse)
    test_analyst_cannot_read_raw_staging_snapshots_or_operations(warehouse)
    test_analyst_cannot_change_the_marts(warehouse)


def test_setup_reports_an_unreachable_server(tmp_path: Path) -> None:
    result = run_elt(
        "setup-postgres", env={"ELT_PG_PORT": "1", "ELT_PG_ADMIN_PASSWORD": "hunter2-secret"}
    )
    assert result.returncode == 2
    assert "cannot connect to postgres" in result.stderr
    assert "127.0.0.1:1" in result.stderr
    assert "hunter2-secret" not in result.stderr


def test_the_loader_without_its_grants_says_so_in_one_line(warehouse: str, tmp_path: Path) -> None:
    """A database the set-up never ran on (the roles exist, the loader may not create its
    schemas): `elt load` names the refusal and the fix in one line, no traceback."""
    s = pg_settings()
    name = f"elt_bare_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(dbname="postgres", **s)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'create database "{name}"')
            cur.execute(f'revoke create on database "{name}" from public')
        data = tmp_path / "data"
        generate(data, GeneratorConfig(scale=0.002, seed=5, start=dt.date(2025, 3, 3)), days=1)
        loaded = run_elt(
            "load",
            "--target",
            "postgres_loader",
            "--data-dir",
            str(data),
            env={"ELT_PG_DATABASE": name, "ELT_PG_LOADER_USER": "elt_loader"},
        )
        assert loaded.returncode == 2, loaded.stdout + loaded.stderr  # a settings error
        assert "Traceback" not in loaded.stderr
        [line] = [x for x in loaded.stderr.splitlines() if "PostgreSQL refused" in x]
        assert "permission denied for database" in line
        assert "run `elt setup-postgres` as the administrator" in line
    finally:
        with admin.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def test_dbt_as_another_role_stops_naming_the_owner(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt run once as the superuser leaves a relation the transformer cannot replace: the
    next run as the transformer stops before any model, naming it, its owner and the fix
    (not "must be owner" on every model). The profile's default role is the transformer."""
    s = pg_settings()
    # the superuser, as a `dbt build --target postgres` with the old profile default did
    monkeypatch.setenv("ELT_PG_USER", s["user"])
    as_super = dbt(tmp_path, "postgres", "run", "--select", "dim_channel", database=warehouse)
    assert as_super.returncode == 0, as_super.stdout[-3000:]
    try:
        blocked = dbt_as_transformer(tmp_path, warehouse, "build", "--select", "dim_channel")
        assert blocked.returncode != 0
        out = " ".join(blocked.stdout.split())
        assert (
            "dbt runs as elt_transformer, but 1 relation(s) it builds belong to another role" in out
        )
        assert f"marts.dim_channel (owner {s['user']})" in out
        assert "alter table marts.dim_channel owner to elt_transformer;" in out
    finally:
        conn = connect_as(s["user"], warehouse)
        with conn.cursor() as cur:
            cur.execute("alter table marts.dim_channel owner to elt_transformer")
        conn.close()
    again = dbt_as_transformer(tmp_path, warehouse, "build", "--select", "dim_channel")
    assert again.returncode == 0, again.stdout[-3000:]
    monkeypatch.delenv("ELT_PG_USER", raising=False)
    assert load_target(REPO, REPO, "postgres").settings["user"] == "elt_transformer"


def test_published_versions_keep_the_indexes_and_statistics(warehouse: str) -> None:
    """Analysts' queries rest on the build's indexes (an order lookup, dates, keys) and on
    fresh statistics: every published copy has the same indexes as its build table, and
    is analyzed."""
    conn = connect_as("postgres", warehouse)
    with conn.cursor() as cur:
        cur.execute("select schema_name from publish.versions where is_current")
        [(version,)] = cur.fetchall()
        indexed = (
            "select tablename, count(*), string_agg(regexp_replace(indexdef, '^.* USING ', ''), ', '"
            " order by regexp_replace(indexdef, '^.* USING ', '')) from pg_indexes"
            " where schemaname = %s group by 1 order by 1"
        )
        cur.execute(indexed, ["marts"])
        build = cur.fetchall()
        cur.execute(indexed, [version])
        published = cur.fetchall()
        cur.execute(
            "select count(*) from pg_stat_user_tables where schemaname = %s and last_analyze is null",
            [version],
        )
        never = cur.fetchone()
    conn.close()
    assert len(build) > 8
    assert published == build
    assert never == (0,)
