"""Slim CI (`make ci-slim`): against production's manifest, an unchanged project builds
nothing; a changed model builds itself and its children only, in the run's own schemas,
reading everything else from production (--defer)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import pg_settings, run_elt
from elt.tests.loader_helpers import Wh, make_wh
from elt.tests.project_copy import copy_project

pytestmark = pytest.mark.slow
VENV = Path(sys.executable).parent.parent


def make(
    project: Path, env: dict[str, str], *args: str, target: str = "duckdb"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # ELT_NO_INSTALL: the copy must never reinstall the project into the repository's .venv
        [
            "make",
            "--no-print-directory",
            *args,
            f"VENV={VENV}",
            "ELT_NO_INSTALL=1",
            f"TARGET={target}",
        ],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def ran(project: Path) -> set[str]:
    results: dict[str, Any] = json.loads((project / "target" / "run_results.json").read_text())
    return {r["unique_id"] for r in results["results"]}


@dataclasses.dataclass
class Production:
    """A copy of the project whose production build is published, its manifest kept as the
    state slim CI compares against."""

    project: Path
    env: dict[str, str]
    warehouse: Path
    state: Path
    wh: Wh

    def ci(self, run_id: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "ELT_ENV": "ci", "ELT_CI_RUN_ID": run_id}
        return make(self.project, env, "ci-slim", *args, target=self.wh.kind)

    def published(self, query: str) -> list[tuple[Any, ...]]:
        """A query on what analysts read in production (``{analytics}`` is its schema)."""
        if self.wh.kind == "postgres":
            return self.wh.sql(query.format(analytics="analytics"))
        published = self.warehouse.with_name("published.duckdb")
        with duckdb.connect(str(published), read_only=True) as con:
            return [tuple(r) for r in con.execute(query.format(analytics="analytics")).fetchall()]

    def impact(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(
            (self.project / "target" / "impact" / "impact.json").read_text()
        )
        return found

    @contextlib.contextmanager
    def edited(self, edits: dict[str, list[tuple[str, str]]]) -> Iterator[None]:
        """Files of the project with text replaced, restored afterwards."""
        saved = {}
        try:
            for name, replacements in edits.items():
                path = self.project / name
                saved[path] = text = path.read_text()
                for old, new in replacements:
                    assert old in text, (name, old)
                    text = text.replace(old, new)
                path.write_text(text)
            yield
        finally:
            for path, text in saved.items():
                path.write_text(text)


def published_production(tmp_path: Path, kind: str, database: str | None = None) -> Production:
    project = tmp_path / "project"
    copy_project(project)
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        "ELT_DUCKDB_PATH": str(warehouse),
        "DBT_PROFILES_DIR": str(project),
        "ELT_STATE_DIR": str(tmp_path / "state"),
    }
    wh = make_wh(kind, tmp_path, database)
    env.update(wh.env)
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=3, start=dt.date(2025, 3, 3)), days=2)

    # production: loaded (by the loader's login), built, published; its manifest kept as the
    # state CI compares against
    prod = {**env, "ELT_ENV": "prod", "ELT_EMAIL_HASH_KEY": "slim-ci-test-email-hash-key-0123"}
    built = make(project, prod, "load", f"DATA_DIR={data}", "build", "publish", target=kind)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    state = tmp_path / "state" / "prod" / "manifest.json"
    assert state.is_file()
    return Production(project, env, warehouse, state, wh)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Production:
    return published_production(tmp_path_factory.mktemp("slim-ci"), "duckdb")


@pytest.fixture(scope="module")
def pg_production(
    tmp_path_factory: pytest.TempPathFactory, _session_pg_databases: list[str]
) -> Production:
    from elt.pgsetup import Admin, Roles, setup

    database = f"elt_test_{uuid.uuid4().hex[:10]}"
    s = pg_settings()
    setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, database), Roles())
    _session_pg_databases.append(database)
    return published_production(tmp_path_factory.mktemp("slim-ci-pg"), "postgres", database)


def test_slim_ci_builds_what_changed_and_its_children_only(production: Production) -> None:
    project, env, warehouse, state = (
        production.project,
        production.env,
        production.warehouse,
        production.state,
    )
    prod = {**env, "ELT_ENV": "prod"}
    ci = {**env, "ELT_ENV": "ci", "ELT_CI_RUN_ID": "pr-7"}
    unchanged = make(project, ci, "ci-slim")
    assert unchanged.returncode == 0, unchanged.stdout[-3000:]
    assert ran(project) == set()
    # the change-impact report of an unchanged project is empty
    assert production.impact() == {
        "category": "no change",
        "accepted": None,
        "models": [],
        "marts": [],
    }
    assert "No model changed" in unchanged.stdout

    fct = project / "models" / "marts" / "sales" / "fct_orders.sql"
    fct.write_text(
        fct.read_text().replace("select * from final", "select * from final\n-- changed")
    )
    try:
        changed = make(project, ci, "ci-slim")
        assert changed.returncode == 0, changed.stdout[-3000:]
        # a comment changes no data: the report says so for every mart it rebuilt
        impact = production.impact()
        assert impact["category"] == "no data change"
        assert {m["mart"]: m["category"] for m in impact["marts"]} == {
            "fct_orders": "no data change",
            "rpt_customer_cohorts": "no data change",
            "rpt_monthly_fulfilment": "no data change",
        }
        assert [(m["name"], m["status"], m["columns_changed"]) for m in impact["models"]] == [
            ("fct_orders", "modified", []),
            ("rpt_customer_cohorts", "downstream", []),
            ("rpt_monthly_fulfilment", "downstream", []),
        ]
    finally:  # the next tests compare against production: the project as it was
        fct.write_text(
            fct.read_text().replace("select * from final\n-- changed", "select * from final")
        )
    manifest = json.loads(state.read_text())
    children, todo = set(), ["model.elt_warehouse.fct_orders"]
    while todo:
        node = todo.pop()
        if (
            node.split(".")[0] in ("model", "test", "snapshot", "unit_test")
            and node not in children
        ):
            children.add(node)
            todo += manifest["child_map"].get(node, [])
    children |= {u for u, t in manifest.get("unit_tests", {}).items() if t["model"] == "fct_orders"}
    built_now = {
        n for n in ran(project) if not n.startswith(("exposure.", "operation.", "saved_query."))
    }
    assert "model.elt_warehouse.fct_orders" in built_now
    assert len(built_now) > 5  # the model and its tests at least
    assert built_now <= children
    assert {n for n in built_now if n.startswith("model.")} == {
        n for n in children if n.startswith("model.")
    }
    # in the run's own schemas; what did not change is read from production
    with duckdb.connect(str(warehouse), read_only=True) as con:
        ci_tables = {
            (s, t)
            for s, t in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema like 'ci_pr_7_%'"
            ).fetchall()
        }
    assert ("ci_pr_7_marts", "fct_orders") in ci_tables
    assert ("ci_pr_7_marts", "fct_order_items") not in ci_tables
    compiled = next((project / "target" / "compiled").rglob("fct_orders.sql")).read_text()
    assert '"intermediate"."int_orders_resolved"' in compiled  # deferred to production

    dropped = run_elt(
        "drop-environment", "--target", "duckdb", env={**ci, "DBT_PROFILES_DIR": str(project)}
    )
    assert dropped.returncode == 0, dropped.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        left = con.execute(
            "select count(*) from information_schema.schemata where schema_name like 'ci_pr_7_%'"
        ).fetchone()
        assert left == (0,)
        assert con.execute("select count(*) from marts.fct_orders").fetchone()[0] > 0  # type: ignore[index]
    refused = run_elt(
        "drop-environment", "--target", "duckdb", env={**prod, "DBT_PROFILES_DIR": str(project)}
    )
    assert refused.returncode == 2
    assert "refuses production" in refused.stderr


NET_REVENUE = (
    "            with_product.quantity * with_product.unit_price - with_product.discount_amount\n",
    "            with_product.quantity * with_product.unit_price\n",
)
# the rule's unit test, updated with the rule as a real change would (line a had a discount)
NET_REVENUE_EXPECTED = (
    "gross_amount: 30.00, net_revenue: 25.00, net_revenue_usd: 27.50,",
    "gross_amount: 30.00, net_revenue: 30.00, net_revenue_usd: 33.00,",
)


@pytest.mark.parametrize("kind", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_changed_business_rule_is_breaking_and_the_report_names_what_it_moves(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """Net revenue no longer subtracts the discount: the lines' revenue changes where a line
    had a discount, and so does every mart made from it, by the day totals the diff shows."""
    production: Production = request.getfixturevalue(
        "production" if kind == "duckdb" else "pg_production"
    )
    with production.edited(
        {
            "models/marts/sales/fct_order_items.sql": [NET_REVENUE],
            "models/marts/sales/_sales__models.yml": [NET_REVENUE_EXPECTED],
        }
    ):
        refused = production.ci(f"rule-{kind}-1")
        assert refused.returncode != 0, refused.stdout[-3000:]
        assert "error: breaking change to fct_order_items, fct_orders" in refused.stderr
        impact = production.impact()
        accepted = production.ci(f"rule-{kind}-2", "ACCEPT=finance asked for gross revenue")
        assert accepted.returncode == 0, accepted.stdout[-3000:] + accepted.stderr[-2000:]
    assert production.impact()["accepted"] == "finance asked for gross revenue"
    assert impact["category"] == "breaking"
    models = {m["name"]: m for m in impact["models"]}
    assert models["fct_order_items"]["status"] == "modified"
    assert models["fct_order_items"]["columns_changed"] == ["net_revenue", "net_revenue_usd"]
    assert {n for n, m in models.items() if m["status"] == "downstream"} >= {
        "fct_orders",
        "rpt_daily_sales",
    }
    marts = {m["mart"]: m for m in impact["marts"]}
    moved = {
        "fct_order_items": {"net_revenue", "net_revenue_usd"},
        "fct_orders": {"net_revenue", "net_revenue_usd"},
        "rpt_daily_sales": {"net_revenue_usd"},
        "rpt_monthly_product_sales": {"net_revenue_usd"},
        "rpt_customer_cohorts": {"net_revenue_usd"},
    }
    # lead times do not read revenue: rebuilt (a child of fct_orders), unchanged
    assert set(marts) == {*moved, "rpt_monthly_fulfilment"}
    assert marts["rpt_monthly_fulfilment"]["category"] == "no data change"
    [discounted] = production.published(
        "select count(*) from {analytics}.fct_order_items where discount_amount > 0 "
        "and not is_cancelled"
    )
    for name, columns in moved.items():
        mart = marts[name]
        assert mart["category"] == "breaking", mart
        assert {c for c, p in mart["match"].items() if p < 100} == columns, mart["match"]
        assert mart["added"] == mart["removed"] == 0
        assert set(mart["reached"]) >= columns
    assert marts["fct_order_items"]["changed"] == discounted[0]
    # the day totals moved up by the discounts, nothing else
    revenue = [t for t in marts["rpt_daily_sales"]["totals"] if t["metric"] == "net_revenue_usd"]
    assert revenue
    assert all(t["delta"] > 0 for t in revenue)
    lines = [t for t in marts["rpt_daily_sales"]["totals"] if t["metric"] == "lines"]
    assert all(t["delta"] == 0 for t in lines)
    assert marts["rpt_daily_sales"]["exposures"] == ["daily_sales_dashboard"]
    page = production.project / "target" / "impact" / "impact.html"
    if kind == "duckdb":
        shown = open_from_disk(page)
        assert shown.startswith("Change impact: BREAKING")
        assert "finance asked for gross revenue" in shown
        assert shown.count("breaking") >= 5


def test_an_added_column_is_non_breaking_and_a_renamed_one_an_exposure_reads_breaks_it(
    production: Production,
) -> None:
    added = (
        "            as missing_fx_line_count,\n        cast(max(max(source_loaded_at))",
        "            as missing_fx_line_count,\n"
        "        cast(max(quantity) as integer) as largest_line_quantity,\n"
        "        cast(max(max(source_loaded_at))",
    )
    contract = (
        "      - name: source_loaded_at\n",
        "      - name: largest_line_quantity\n        data_type: integer\n"
        "        description: The largest quantity of one line.\n"
        "      - name: source_loaded_at\n",
    )
    renamed = ("as integer) as cancelled_line_count,", "as integer) as cancelled_lines,")
    with production.edited(
        {
            "models/marts/sales/rpt_monthly_product_sales.sql": [added],
            "models/marts/sales/rpt_daily_sales.sql": [renamed],
        }
    ):
        yml = production.project / "models" / "marts" / "sales" / "_sales__models.yml"
        original = yml.read_text()
        daily = original.index("  - name: rpt_daily_sales")
        monthly = original.index("  - name: rpt_monthly_product_sales")
        after = original.index("\n  - name: ", monthly) + 1  # the model after it
        edited = (
            original[:daily]
            + original[daily:monthly].replace(
                "      - name: cancelled_line_count", "      - name: cancelled_lines"
            )
            + original[monthly:after].replace(*contract)
            + original[after:]
        )
        try:
            yml.write_text(edited)
            result = production.ci("columns-1")
        finally:
            yml.write_text(original)
    assert result.returncode != 0, result.stdout[-3000:]
    impact = production.impact()
    marts = {m["mart"]: m for m in impact["marts"]}
    assert set(marts) == {"rpt_daily_sales", "rpt_monthly_product_sales"}
    monthly_impact = marts["rpt_monthly_product_sales"]
    assert monthly_impact["category"] == "non-breaking"
    assert monthly_impact["columns_added"] == ["largest_line_quantity"]
    assert monthly_impact["changed"] == monthly_impact["added"] == monthly_impact["removed"] == 0
    daily_impact = marts["rpt_daily_sales"]
    assert daily_impact["category"] == "breaking"
    assert daily_impact["renamed"] == {"cancelled_line_count": "cancelled_lines"}
    assert "exposure daily_sales_dashboard (reads cancelled_line_count)" in " ".join(
        daily_impact["reasons"]
    )
    assert "error: breaking change to rpt_daily_sales:" in result.stderr


def open_from_disk(page: Path) -> str:
    """The page opened from disk in Chromium, as a reviewer opens a CI artifact: its text;
    no console error, no request but the page itself."""
    from playwright.sync_api import sync_playwright

    from elt.browser import CHROMIUM_ARGS
    from elt.tests.browser_checks import PageProblems, chromium_path

    executable = chromium_path()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            tab = browser.new_page()
            problems = PageProblems(tab)
            requested: list[str] = []
            tab.on("request", lambda r: requested.append(r.url))
            tab.goto(page.as_uri(), wait_until="load")
            text: str = tab.locator("body").inner_text()
            assert requested == [page.as_uri()]
            assert problems.real_errors() == []
        finally:
            browser.close()
    return text
