"""Project conventions (dbt-bouncer.yml) hold on the real artifacts, and the gate does fail."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from elt.tests.conftest import REPO
from elt.tests.docs_artifacts import DocsProject

# dbt-bouncer lives in a virtualenv of its own (it pins duckdb<2); `make test` sets the path
BOUNCER = os.environ.get("ELT_DBT_BOUNCER") or str(REPO / ".venv-tools" / "bin" / "dbt-bouncer")

pytestmark = pytest.mark.slow


def bouncer(artifacts: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """dbt-bouncer with the repository's config, pointed at ``artifacts``."""
    if not os.access(BOUNCER, os.X_OK):
        pytest.fail(f"dbt-bouncer not found at {BOUNCER}: run `make test` (it installs it)")
    config = yaml.safe_load((REPO / "dbt-bouncer.yml").read_text())
    config["dbt_artifacts_dir"] = str(artifacts)
    path = work / "dbt-bouncer.yml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [BOUNCER, "run", "--config-file", str(path), "--show-all-failures"],
        cwd=work,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
        env={"COLUMNS": "250", "PATH": os.environ.get("PATH", "")},
    )


def test_project_follows_its_conventions(docs_project: DocsProject, tmp_path: Path) -> None:
    result = bouncer(docs_project.target_dir, tmp_path)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "All checks passed" in result.stdout


def _node(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [n for n in manifest["nodes"].values() if n.get("name") == name]
    [node] = nodes
    return node


def _undocument_column(m: dict[str, Any]) -> None:
    _node(m, "fct_orders")["columns"]["order_id"]["description"] = ""


def _drop_contract(m: dict[str, Any]) -> None:
    _node(m, "dim_product")["contract"]["enforced"] = False


def _misplace_staging_model(m: dict[str, Any]) -> None:
    node = _node(m, "stg_shop__orders")
    node["original_file_path"] = node["original_file_path"].replace("staging", "adhoc")


def _drop_grain(m: dict[str, Any]) -> None:
    _node(m, "fct_payments")["description"] = "Payments."


def _drop_unique_test(m: dict[str, Any]) -> None:
    model = _node(m, "dim_channel")["unique_id"]
    for uid in [
        uid
        for uid, n in m["nodes"].items()
        if n["resource_type"] == "test"
        and n.get("attached_node") == model
        and (n.get("test_metadata") or {}).get("name") == "unique"
    ]:
        del m["nodes"][uid]


def _drop_freshness(m: dict[str, Any]) -> None:
    [source] = [s for s in m["sources"].values() if s["name"] == "orders"]
    source["freshness"] = None


@pytest.mark.parametrize(
    ("break_it", "check", "culprit"),
    [
        (_undocument_column, "check_model_column_description_populated", "fct_orders"),
        (_drop_contract, "check_model_has_contracts_enforced", "dim_product"),
        (_misplace_staging_model, "check_model_directories", "stg_shop__orders"),
        (_drop_grain, "check_model_description_contains_regexp_pattern", "fct_payments"),
        (_drop_unique_test, "check_model_has_unique_test", "dim_channel"),
        (_drop_freshness, "check_source_freshness_populated", "shop_orders"),
    ],
)
def test_a_violation_fails_the_gate(
    docs_project: DocsProject,
    tmp_path: Path,
    break_it: Callable[[dict[str, Any]], None],
    check: str,
    culprit: str,
) -> None:
    artifacts = tmp_path / "target"
    artifacts.mkdir()
    manifest = copy.deepcopy(docs_project.manifest)
    break_it(manifest)
    (artifacts / "manifest.json").write_text(json.dumps(manifest))
    for name in ("catalog.json", "run_results.json"):
        (artifacts / name).write_bytes((docs_project.target_dir / name).read_bytes())
    result = bouncer(artifacts, tmp_path)
    assert result.returncode != 0, result.stdout[-3000:]
    failures = [line for line in result.stdout.splitlines() if check in line]
    assert any(culprit in line for line in failures), result.stdout[-6000:]


def test_sql_lint_does_not_depend_on_the_built_warehouse(docs_project: DocsProject) -> None:
    """`make lint-sql` after `make run`: an incremental model is linted as compiled for a first
    build, whatever the warehouse holds (its is_incremental() branch once failed LT02 then)."""
    import sys

    built = docs_project.work / "warehouse.duckdb"
    assert built.is_file()
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "lint-sql",
            f"VENV={Path(sys.executable).parent.parent}",
            "ELT_NO_INSTALL=1",
            "ELT_ENV=prod",
            f"DUCKDB_PATH={built}",
            "SQL_PATHS=models/intermediate/int_customer_versions.sql models/intermediate/int_orders_merged.sql",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "All Finished" in result.stdout
