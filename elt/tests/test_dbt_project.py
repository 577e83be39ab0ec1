"""The whole pipeline on DuckDB and PostgreSQL: generate, load, dbt build, analyses, docs."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import MARTS, run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh
from elt.tests.mart_checks import assert_emails_hashed_with_the_key

START = dt.date(2025, 3, 3)  # a Monday: FX rates exist from the first day


def build(wh: Wh, work: Path, *args: str) -> dict[str, Any]:
    result = dbt(work, wh.kind, "build", *args, database=wh.env.get("ELT_PG_DATABASE"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "ERROR=0" in result.stdout, result.stdout[-3000:]
    assert "WARN=0" in result.stdout, result.stdout[-3000:]
    results: dict[str, Any] = json.loads((work / "target" / "run_results.json").read_text())
    return results


def test_dbt_parses(tmp_path: Path) -> None:
    result = dbt(tmp_path, "duckdb", "parse")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_pipeline_builds_every_model_snapshot_and_test(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(
        data,
        GeneratorConfig(
            scale=0.02,
            seed=11,
            start=START,
            drift_date=START + dt.timedelta(days=4),
            # enough unparseable values that rpt_rejected_rows has rows too
            rates={**{k: v[0] for k, v in MESS_KINDS.items()}, "unparseable_value": 0.01},
        ),
        days=10,
    )
    assert wh.load(data).ok
    results = build(wh, tmp_path)
    kinds = {r["unique_id"].split(".")[0] for r in results["results"]}
    assert {"model", "snapshot", "seed", "test", "unit_test"} <= kinds
    # as `make build` does: the build into the run history (the run-history marts read it)
    recorded = run_elt(
        "record-run",
        "--target",
        wh.kind,
        "--run-results",
        str(tmp_path / "target" / "run_results.json"),
        env=wh.env,
    )
    assert recorded.returncode == 0, recorded.stderr
    for mart in MARTS:
        assert wh.sql(f"select count(*) from marts.{mart}")[0][0] > 0, mart
    assert_emails_hashed_with_the_key(wh, tmp_path)
    # the schema drift column reached staging and the fact
    assert wh.sql("select count(*) from marts.fct_orders where coupon_code is not null")[0][0] > 0
    # analyses compile and run on this target
    compiled = dbt(
        tmp_path,
        wh.kind,
        "compile",
        "--select",
        "resource_type:analysis",
        database=wh.env.get("ELT_PG_DATABASE"),
    )
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    analyses = sorted((tmp_path / "target/compiled/elt_warehouse/analyses").glob("*.sql"))
    assert len(analyses) >= 3
    for path in analyses:
        assert wh.sql(path.read_text()), path.name
    docs = dbt(tmp_path, wh.kind, "docs", "generate", database=wh.env.get("ELT_PG_DATABASE"))
    assert docs.returncode == 0, docs.stdout[-3000:]
    catalog = json.loads((tmp_path / "target/catalog.json").read_text())
    assert any(key.endswith(".fct_order_items") for key in catalog["nodes"])


def test_duckdb_sessions_are_bounded_in_memory(tmp_path: Path) -> None:
    """dbt's DuckDB sessions take at most ELT_DUCKDB_MEMORY_LIMIT (3 GB unless set), not 80%
    of the machine: a full build at scale 10 peaked at 4.5 GB unbounded."""

    def limit(env: dict[str, str]) -> str:
        query = "select current_setting('memory_limit') as m"
        result = dbt(tmp_path, "duckdb", "show", "--inline", query, "--output", "json", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        return str(json.loads(result.stdout[result.stdout.index("{") :])["show"][0]["m"])

    assert limit({}) == "2.7 GiB"  # 3 GB
    assert limit({"ELT_DUCKDB_MEMORY_LIMIT": "1GB"}) == "953.6 MiB"
