"""Shared fixtures: repository paths, the ``elt`` command, and PostgreSQL availability."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# every mart of models/marts/ (the docs-site test checks the list against the manifest)
ANALYST_MARTS = [
    "dim_date",
    "dim_customer",
    "dim_product",
    "dim_geography",
    "dim_channel",
    "dim_order_status",
    "dim_payment_method",
    "fct_order_items",
    "fct_orders",
    "fct_payments",
    "rpt_daily_sales",
    "rpt_monthly_product_sales",
    "rpt_monthly_fulfilment",
    "rpt_customer_cohorts",
]
# models/marts/operations/: for the data team, not granted to analysts; the run-history marts
# are views over raw._elt_runs (always current), never copied into a published version
RUN_HISTORY_MARTS = [
    "rpt_runs",
    "rpt_dbt_node_runs",
    "rpt_daily_run_durations",
    "rpt_daily_test_results",
    "rpt_model_timings",
]
OPERATIONS_MARTS = ["rpt_pipeline_health", "rpt_rejected_rows", *RUN_HISTORY_MARTS]
MARTS = ANALYST_MARTS + OPERATIONS_MARTS

# every test warehouse is a throwaway of its own (a temporary file or database): production
# schema names, unless a test sets another environment (test_publish, test_environments)
os.environ["ELT_ENV"] = "prod"
# production needs the email hash key (elt/loader/hash_key.py): a test's own, from the environment
TEST_EMAIL_HASH_KEY = "test-only-email-hash-key-0123456789abcdef"
os.environ["ELT_EMAIL_HASH_KEY"] = TEST_EMAIL_HASH_KEY
# every elt command loads the environment's settings file (environments/prod.env here); a
# variable already set wins. The tests keep the code's own defaults unless they say otherwise:
# the test server speaks plain TCP (test_postgres_tls covers verified TLS with a server of its
# own), a warning alerts only where a test asks for it, and three versions are kept
os.environ["ELT_PG_SSLMODE"] = "prefer"
os.environ["ELT_ALERT_ON_WARN"] = "false"
os.environ["ELT_PUBLISH_KEEP"] = "3"

REQUIRE_POSTGRES = os.environ.get("ELT_REQUIRE_POSTGRES", "") in ("1", "true", "yes")


def run_elt(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the ``elt`` console script as a user would (``unset``: variables it must not see)."""
    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "elt", *args],
        cwd=cwd or REPO,
        env=environ,
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
    )


def invoke_elt(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """``elt`` in this process, through click's test runner: what :func:`run_elt` returns,
    without starting an interpreter (half a second a call). An exception the command does not
    turn into a message propagates: a traceback fails the test."""
    from click.testing import CliRunner

    from elt.cli import main

    overrides: dict[str, str | None] = {**(env or {}), **dict.fromkeys(unset)}
    with contextlib.chdir(cwd or REPO):
        result = CliRunner().invoke(
            main, list(args), prog_name="elt", env=overrides, catch_exceptions=False
        )
    return subprocess.CompletedProcess(
        ["elt", *args], result.exit_code, result.stdout, result.stderr
    )


def pg_settings() -> dict[str, Any]:
    return {
        "host": os.environ.get("ELT_PG_HOST", "127.0.0.1"),
        "port": os.environ.get("ELT_PG_PORT", "5432"),
        "user": os.environ.get("ELT_PG_USER", "postgres"),
        "password": os.environ.get("ELT_PG_PASSWORD", ""),
    }


def _pg_unreachable_reason() -> str | None:
    import psycopg2

    s = pg_settings()
    try:
        psycopg2.connect(dbname="postgres", connect_timeout=3, **s).close()
    except psycopg2.Error as exc:
        return f"PostgreSQL at {s['host']}:{s['port']} as {s['user']} is not reachable ({str(exc).strip()})"
    return None


@pytest.fixture(scope="session")
def postgres_available() -> None:
    """Skip PostgreSQL tests when no server answers — unless CI made them mandatory."""
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"{reason}; ELT_REQUIRE_POSTGRES=1 makes PostgreSQL tests mandatory")
    pytest.skip(f"{reason}; set ELT_PG_* to point at a server (CI sets ELT_REQUIRE_POSTGRES=1)")


@pytest.fixture
def pg_database(postgres_available: None) -> Iterator[str]:
    """A fresh, empty database for one test, dropped afterwards."""
    import psycopg2

    from elt.pgsetup import Admin, Roles, setup

    name = f"elt_test_{uuid.uuid4().hex[:10]}"
    s = pg_settings()
    # the project's own set-up: database, roles and schema ownership (as in `make run`)
    setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, name), Roles())
    conn = psycopg2.connect(dbname="postgres", **s)
    conn.autocommit = True
    try:
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f'drop database if exists "{name}" with (force)')
        conn.close()


@pytest.fixture(scope="session")
def _session_pg_databases(postgres_available: None) -> Iterator[list[str]]:
    """Databases made for session-scoped fixtures, dropped at the end of the session."""
    import psycopg2

    names: list[str] = []
    yield names
    conn = psycopg2.connect(dbname="postgres", **pg_settings())
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in names:
            cur.execute(f'drop database if exists "{name}" with (force)')
    conn.close()


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def routine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Three nights of the daily routine on each database (elt/tests/routine.py), shared."""
    from elt.pgsetup import Admin, Roles, setup
    from elt.tests.loader_helpers import make_wh
    from elt.tests.routine import run_routine

    work = tmp_path_factory.mktemp(f"routine-{request.param}")
    database = None
    if request.param == "postgres":
        databases = request.getfixturevalue("_session_pg_databases")
        database = f"elt_test_{uuid.uuid4().hex[:10]}"
        s = pg_settings()
        setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, database), Roles())
        databases.append(database)
    return run_routine(make_wh(request.param, work, database), work)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def wh(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh warehouse on each target: DuckDB file, or a new PostgreSQL database."""
    from elt.tests.loader_helpers import make_wh

    database = request.getfixturevalue("pg_database") if request.param == "postgres" else None
    return make_wh(request.param, tmp_path, database)


@pytest.fixture(scope="session")
def docs_project(tmp_path_factory: pytest.TempPathFactory):
    """A small DuckDB warehouse built by dbt, with its docs artifacts (see docs_artifacts.py)."""
    from elt.tests.docs_artifacts import build_docs_project

    return build_docs_project(tmp_path_factory.mktemp("docs"))


@pytest.fixture
def bare_spark_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The Spark loader's files in a temporary folder; its catalog (a JVM) starts on first use."""
    from elt.loader.spark_target import SparkWarehouse

    monkeypatch.setenv("ELT_SPARK_DIR", str(tmp_path / "spark"))
    monkeypatch.delenv("ELT_SPARK_RAW_DIR", raising=False)
    wh = SparkWarehouse({"method": "session"}, "spark", "raw")
    yield wh
    wh.close()
