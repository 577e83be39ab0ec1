"""docs/reference (the marts' DDL and data dictionary) matches the dbt project and the tables
it builds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from elt import reference
from elt.tests.conftest import REPO
from elt.tests.docs_artifacts import DocsProject

FOLDER = REPO / "docs" / "reference"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def artifacts(docs_project: DocsProject, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built project's manifest and catalog (tests change their own copies)."""
    folder = tmp_path_factory.mktemp("reference")
    for name in ("manifest.json", "catalog.json"):
        shutil.copy(docs_project.target_dir / name, folder / name)
    return folder


def check(artifacts: Path, folder: Path, mode: str = "--check") -> int:
    return reference.main(
        [
            "--manifest",
            str(artifacts / "manifest.json"),
            "--catalog",
            str(artifacts / "catalog.json"),
            mode,
            str(folder),
        ]
    )


def test_reference_files_are_up_to_date(artifacts: Path) -> None:
    assert check(artifacts, FOLDER) == 0, "docs/reference is stale: run `make reference`"


def test_a_changed_description_makes_them_stale(artifacts: Path, tmp_path: Path) -> None:
    manifest: dict[str, Any] = json.loads((artifacts / "manifest.json").read_text())
    [node] = [n for n in manifest["nodes"].values() if n["name"] == "fct_orders"]
    node["columns"]["order_id"]["description"] = "A new description."
    changed = tmp_path / "artifacts"
    changed.mkdir()
    (changed / "manifest.json").write_text(json.dumps(manifest))
    shutil.copy(artifacts / "catalog.json", changed / "catalog.json")
    copy = tmp_path / "reference"
    shutil.copytree(FOLDER, copy)
    assert check(changed, copy) == 1
    assert check(changed, copy, "--write") == 0
    assert "| A new description. |" in (copy / "data-dictionary.md").read_text()
    assert check(changed, copy) == 0


def test_the_ddl_creates_the_tables_the_build_has(docs_project: DocsProject) -> None:
    """The DDL runs, and gives every mart the columns and types of the built table."""
    ddl = duckdb.connect()
    ddl.execute("create schema marts")
    ddl.execute((FOLDER / "marts.sql").read_text())
    built = duckdb.connect(str(docs_project.work / "warehouse.duckdb"), read_only=True)
    query = (
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' order by table_name, ordinal_position"
    )
    assert ddl.execute(query).fetchall() == built.execute(query).fetchall()
    marts = {r[0] for r in ddl.execute("select table_name from duckdb_tables()").fetchall()}
    assert marts == set(docs_project.marts())


def test_the_dictionary_names_keys_types_and_tests() -> None:
    text = (FOLDER / "data-dictionary.md").read_text()
    assert "| `order_item_sk` (PK) | varchar not null |" in text
    assert "relationships → dim_product.product_sk" in text
    fk = "foreign key (product_sk) references marts.dim_product (product_sk)"
    assert fk in (FOLDER / "marts.sql").read_text()


def test_a_postgres_manifest_is_refused(artifacts: Path) -> None:
    manifest = json.loads((artifacts / "manifest.json").read_text())
    manifest["metadata"]["adapter_type"] = "postgres"
    with pytest.raises(ValueError, match="postgres build"):
        reference.marts(manifest, json.loads((artifacts / "catalog.json").read_text()))
