"""The star-schema diagram in docs/models.md and the docs overview matches the dbt project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from elt import erd
from elt.tests.conftest import REPO
from elt.tests.dbt_runner import dbt

FILES = [REPO / "docs" / "models.md", REPO / "models" / "overview.md"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("erd")
    result = dbt(work, "duckdb", "parse")
    assert result.returncode == 0, result.stdout[-3000:]
    parsed: dict[str, Any] = json.loads((work / "target" / "manifest.json").read_text())
    return parsed


def test_diagram_is_up_to_date(manifest: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert erd.main(["--manifest", str(path), "--check", *map(str, FILES)]) == 0, (
        "the star-schema diagram is stale: run `make erd`"
    )


def test_every_foreign_key_of_the_marts_is_drawn(manifest: dict[str, Any]) -> None:
    tables, joins = erd.star(manifest)
    assert {"fct_order_items", "fct_orders", "fct_payments", "dim_date"} <= set(tables)
    drawn = {(j.fact, j.column, j.dimension) for j in joins}
    assert ("fct_order_items", "product_sk", "dim_product") in drawn
    assert ("fct_orders", "order_date_key", "dim_date") in drawn
    # every *_sk column of a fact other than its own key is a drawn foreign key
    for name, table in tables.items():
        if name.startswith("fct_"):
            own = name.removeprefix("fct_").rstrip("s") + "_sk"
            fks = {c for c in table.columns if c.endswith("_sk") and c != own}
            assert fks <= table.foreign_keys, (name, fks - table.foreign_keys)
    assert tables["dim_channel"].key_tags("channel_sk") == ["PK"]
    assert tables["dim_channel"].key_tags("channel") == ["UK"]


def test_a_changed_relationship_makes_the_check_fail(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    changed = json.loads(json.dumps(manifest))
    [test_id] = [
        uid
        for uid, n in changed["nodes"].items()
        if (n.get("test_metadata") or {}).get("name") == "relationships"
        and n.get("column_name") == "channel_sk"
        and n.get("attached_node", "").endswith(".fct_orders")
    ]
    del changed["nodes"][test_id]
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(changed))
    copies = []
    for f in FILES:
        copy = tmp_path / f.name
        copy.write_text(f.read_text())
        copies.append(str(copy))
    assert erd.main(["--manifest", str(path), "--check", *copies]) == 1
    assert erd.main(["--manifest", str(path), "--write", *copies]) == 0
    assert 'dim_channel ||--o{ fct_orders : "channel_sk"' not in Path(copies[0]).read_text()
    assert erd.main(["--manifest", str(path), "--check", *copies]) == 0


def test_files_without_markers_are_refused(manifest: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    plain = tmp_path / "plain.md"
    plain.write_text("# no markers\n")
    assert erd.main(["--manifest", str(path), "--check", str(plain)]) == 2
