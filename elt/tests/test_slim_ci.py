"""Slim CI (`make ci-slim`): against production's manifest, an unchanged project builds
nothing; a changed model builds itself and its children only, in the run's own schemas,
reading everything else from production (--defer)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, run_elt
from elt.tests.loader_helpers import Wh

pytestmark = pytest.mark.slow
VENV = Path(sys.executable).parent.parent
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "target",
    "logs",
    "warehouse",
    "data",
    "state",
    "backups",
    "vendor",
    "artifacts",
    "dbt_packages",
    "node_modules",
    "*.duckdb",
    "__pycache__",
    ".pytest_cache",
)


def make(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # ELT_NO_INSTALL: the copy must never reinstall the project into the repository's .venv
        [
            "make",
            "--no-print-directory",
            *args,
            f"VENV={VENV}",
            "ELT_NO_INSTALL=1",
            "TARGET=duckdb",
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


def test_slim_ci_builds_what_changed_and_its_children_only(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO, project, ignore=COPY_IGNORE)
    warehouse = tmp_path / "warehouse.duckdb"
    env = {
        "ELT_DUCKDB_PATH": str(warehouse),
        "DBT_PROFILES_DIR": str(project),
        "ELT_STATE_DIR": str(tmp_path / "state"),
    }
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=3, start=dt.date(2025, 3, 3)), days=2)
    wh = Wh("duckdb", {"ELT_TARGET": "duckdb", **env})
    assert wh.load(data, project=project).ok

    # production: a build, published; its manifest kept as the state CI compares against
    prod = {**env, "ELT_ENV": "prod"}
    built = make(project, prod, "build", "publish")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    state = tmp_path / "state" / "prod" / "manifest.json"
    assert state.is_file()

    ci = {**env, "ELT_ENV": "ci", "ELT_CI_RUN_ID": "pr-7"}
    unchanged = make(project, ci, "ci-slim")
    assert unchanged.returncode == 0, unchanged.stdout[-3000:]
    assert ran(project) == set()

    fct = project / "models" / "marts" / "sales" / "fct_orders.sql"
    fct.write_text(
        fct.read_text().replace("select * from final", "select * from final\n-- changed")
    )
    changed = make(project, ci, "ci-slim")
    assert changed.returncode == 0, changed.stdout[-3000:]
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
