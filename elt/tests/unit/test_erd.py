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
    [test] = [
        n
        for n in changed["nodes"].values()
        if (n.get("test_metadata") or {}).get("name") == "foreign_keys"
        and n.get("attached_node", "").endswith(".fct_orders")
    ]
    keys = test["test_metadata"]["kwargs"]["keys"]
    test["test_metadata"]["kwargs"]["keys"] = [k for k in keys if k["column"] != "channel_sk"]
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


def test_one_diagram_per_domain_the_star_first_its_reports_apart(manifest: dict[str, Any]) -> None:
    tables, joins = erd.star(manifest)
    diagrams = erd.diagrams(tables, joins)
    star = diagrams[0]
    assert star.name == "sales"
    assert {"fct_order_items", "fct_orders", "fct_payments", "dim_date", "dim_product"} <= set(
        star.tables
    )
    joined = {j.fact for j in joins} | {j.dimension for j in joins}
    assert set(star.tables) <= joined  # no table that joins nothing stretches the star
    drawn = [n for d in diagrams for n in d.tables]
    assert sorted(drawn) == sorted(tables)  # every mart once
    assert {d.name for d in diagrams} >= {"sales", "operations-reports"}


def test_the_docs_site_gets_pictures_not_mermaid_nor_comments(manifest: dict[str, Any]) -> None:
    overview = erd.section(manifest, pictures=True)
    assert "erDiagram" not in overview
    assert "<!--" not in overview  # the site prints HTML comments as text
    assert overview.startswith(erd.DOCS_START)
    assert (
        "![Sales: the star of fct_order_items, fct_orders, fct_payments](erd-sales.svg)" in overview
    )
    assert "erDiagram" in erd.section(manifest)  # docs/models.md: Mermaid, GitHub draws it


def test_the_star_picture_draws_every_table_and_join(manifest: dict[str, Any]) -> None:
    import xml.etree.ElementTree as ET

    from elt.erd_svg import render

    star = erd.diagrams(*erd.star(manifest))[0]
    svg = ET.fromstring(render(star))
    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {g.get("data-table") for g in svg.iterfind(".//s:g[@class='table']", ns)}
    assert drawn == set(star.tables)
    joins = {p.get("data-join") for p in svg.iterfind(".//s:path[@class='join']", ns)}
    assert joins == {f"{j.fact}.{j.column}" for j in star.joins}
    assert float(svg.get("width") or 0) > 600
