"""Column lineage (`elt lineage`, the docs site's lineage page, the OpenLineage document): what
elt.lineage computes from dbt's artifacts equals lineage written by hand from the models' SQL
(elt/tests/lineage_expected.py), on DuckDB and PostgreSQL (Spark: test_spark.py)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path

import pytest

from elt.errors import LoaderError
from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.lineage import openlineage, page
from elt.lineage.project import ColumnRef, ProjectLineage, load
from elt.tests.conftest import run_elt
from elt.tests.dbt_runner import dbt, dbt_env
from elt.tests.docs_artifacts import DocsProject
from elt.tests.lineage_expected import EXPECTED, differences, unresolved_mart_columns

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lineage(docs_project: DocsProject) -> ProjectLineage:
    return load(docs_project.target_dir)


def test_the_hand_written_lineage_is_what_duckdb_computes(lineage: ProjectLineage) -> None:
    assert lineage.dialect == "duckdb"
    assert differences(lineage) == {}


def test_the_hand_written_table_covers_every_mart(
    lineage: ProjectLineage, docs_project: DocsProject
) -> None:
    assert len(EXPECTED) >= 30
    assert {name.split(".")[0] for name in EXPECTED} == set(docs_project.marts())


def test_every_mart_column_reaches_raw_or_is_marked_constant_or_generated(
    lineage: ProjectLineage,
) -> None:
    assert unresolved_mart_columns(lineage) == []
    # every column of every model has lineage: inputs, or an origin saying why none
    for uid in lineage.built():
        for column in lineage.columns[uid]:
            ref = ColumnRef(uid, column)
            assert lineage.edges[ref] or lineage.origins[ref] in ("constant", "generated"), ref
    # select * resolved: a staging model reading its source with `select *` has its columns
    staged = next(u for u, n in lineage.nodes.items() if n.name == "stg_shop__orders")
    assert "order_status" in lineage.columns[staged]
    raw = lineage.raw_sources(lineage.find("stg_shop__orders.order_status"))
    assert {lineage.label(r) for r in raw} == {"shop.orders.status"}


def test_downstream_reaches_every_mart_column_made_of_a_raw_column(lineage: ProjectLineage) -> None:
    reached = {
        lineage.label(r) for r in lineage.marts_reached(lineage.find("shop.order_items.discount"))
    }
    assert {
        "fct_order_items.discount_amount",
        "fct_order_items.net_revenue_usd",
        "fct_orders.net_revenue_usd",
        "rpt_daily_sales.net_revenue_usd",
        "rpt_customer_cohorts.net_revenue_usd",
    } <= reached
    assert "fct_order_items.quantity" not in reached


def test_the_openlineage_document_follows_the_facet(docs_project: DocsProject) -> None:
    document = json.loads((docs_project.target_dir / page.DOCUMENT).read_text())
    names = {d["name"].rsplit(".", 1)[-1] for d in document}
    assert set(docs_project.marts()) <= names
    for dataset in document:
        openlineage.validate(dataset)
    fct = next(d for d in document if d["name"].endswith(".fct_orders"))
    facet = fct["facets"]["columnLineage"]
    assert facet["_schemaURL"].endswith(
        "ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
    )
    [revenue] = facet["fields"]["net_revenue_usd"]["inputFields"]
    assert revenue["name"].endswith(".fct_order_items")
    assert revenue["transformations"] == [{"type": "DIRECT", "subtype": "AGGREGATION"}]
    assert {"type": "INDIRECT", "subtype": "JOIN"} in [
        t for i in facet["dataset"] for t in i["transformations"]
    ]
    # a document that is not the facet's is refused
    wrong = copy.deepcopy(fct)
    wrong["facets"]["columnLineage"]["fields"]["order_id"]["inputFields"][0]["colour"] = "red"
    with pytest.raises(LoaderError, match="'colour' is not a field of InputField"):
        openlineage.validate(wrong)
    wrong = copy.deepcopy(fct)
    wrong["facets"]["columnLineage"]["dataset"][0]["transformations"][0]["subtype"] = "GUESS"
    with pytest.raises(LoaderError, match="INDIRECT/GUESS is not the facet's"):
        openlineage.validate(wrong)


def test_elt_lineage_prints_a_columns_path_to_raw_and_the_marts_it_reaches(
    docs_project: DocsProject,
) -> None:
    up = run_elt("lineage", "fct_orders.net_revenue_usd", env=docs_project.env)
    assert up.returncode == 0, up.stderr
    lines = up.stdout.splitlines()
    assert lines[0] == "fct_orders.net_revenue_usd  (derived)"
    assert "  <- fct_order_items.net_revenue_usd  [aggregation]" in lines
    assert any(line.strip() == "<- shop.order_items.quantity  [transformation]" for line in lines)
    assert lines[-1].startswith("raw: ")
    assert "shop.order_items.discount" in lines[-1]
    down = run_elt("lineage", "--down", "shop.orders.status", env=docs_project.env)
    assert down.returncode == 0, down.stderr
    assert "  fct_orders.is_cancelled" in down.stdout.splitlines()
    missing = run_elt("lineage", "fct_orders.revenue", env=docs_project.env)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: fct_orders has no column 'revenue'")


def test_the_lineage_page_is_one_file_with_its_data(docs_project: DocsProject) -> None:
    html = (docs_project.target_dir / page.PAGE).read_text()
    assert "<script src" not in html
    assert "<link" not in html
    data = json.loads(html.split('type="application/json">', 1)[1].split("</script>", 1)[0])
    assert set(docs_project.marts()) <= set(data["nodes"])
    assert data["nodes"]["fct_orders"]["layer"] == "marts"


@pytest.mark.postgres
def test_the_hand_written_lineage_is_what_postgres_computes(
    pg_database: str, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.002, seed=3, start=dt.date(2025, 3, 3)), days=2)
    env = dbt_env(tmp_path, "postgres", pg_database)
    loaded = run_elt("load", "--target", "postgres", "--data-dir", str(data), "--quiet", env=env)
    assert loaded.returncode == 0, loaded.stderr
    compiled = dbt(tmp_path, "postgres", "compile", database=pg_database)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    lineage = load(tmp_path / "target")
    assert lineage.dialect == "postgres"
    assert differences(lineage) == {}
    assert unresolved_mart_columns(lineage) == []


def test_every_mart_says_where_analysts_read_and_links_its_lineage(
    docs_project: DocsProject,
) -> None:
    for node in docs_project.manifest["nodes"].values():
        if node["resource_type"] == "model" and node["original_file_path"].startswith(
            "models/marts/"
        ):
            description = node["description"]
            assert "Analysts read** the published copy" in description, node["name"]
            assert f"[Column lineage](lineage.html#{node['name']})" in description, node["name"]
