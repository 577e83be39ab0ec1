"""A night costs what its new data costs (elt/scope.py), on both databases, as `elt daily` runs:

- the first night builds everything and tests every row;
- a night whose only new files are payments builds what payments reach (and the marts that
  describe the night), not the customers' or products' models, and is published;
- a night without a new file runs no model: the run history shows a skipped build without
  nodes, nothing is published, `elt status` and the page say "nothing new".
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import run_elt
from elt.tests.loader_helpers import Wh

pytestmark = pytest.mark.slow
CONFIG = GeneratorConfig(scale=0.002, seed=17, start=dt.date(2025, 3, 3))


def _only_payments_of_the_new_day(data: Path, before: set[Path]) -> None:
    """Keep, of the files the generator just wrote, those of the payments feed."""
    for path in sorted(data.rglob("*")):
        new = path.is_file() and path not in before and "_meta" not in path.parts
        if new and path.relative_to(data).parts[0] != "payments":
            path.unlink()


def _ran(wh: Wh, invocation_id: str) -> set[str]:
    return {
        r[0]
        for r in wh.sql(
            f"select node_name from raw._elt_run_nodes where invocation_id = '{invocation_id}'"
        )
    }


def test_a_night_builds_only_what_its_files_reach_and_nothing_without_files(
    wh: Wh, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = {
        **wh.env,
        "ELT_DATA_DIR": str(data),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "ELT_REPORT_PATH": str(tmp_path / "report.html"),
        "ELT_STATE_DIR": str(tmp_path / "state"),
        "ELT_ALERT_COMMAND": "",
        "ELT_ALL_ROWS_EVERY_DAYS": "7",
    }

    def daily(code: int = 0) -> tuple[str, list[str]]:
        done = run_elt("daily", "--target", wh.kind, env=env)
        assert done.returncode == code, done.stdout[-4000:] + done.stderr[-3000:]
        lines = (done.stdout + done.stderr).strip().splitlines()
        [scope] = [line for line in lines if line.startswith("scope: ")]
        return scope, lines

    def builds() -> list[tuple[str, str]]:
        return [
            (str(r[0]), str(r[1]))
            for r in wh.sql(
                "select invocation_id, status from raw._elt_runs where command = 'build' "
                "order by started_at"
            )
        ]

    generate(data, CONFIG, days=2)
    scope, lines = daily()
    assert scope == "scope: everything: no published night is on record"
    assert lines[-1].startswith("outcome: published v000001"), lines[-1]
    [(first, status)] = builds()
    assert status == "success"
    assert {"dim_date", "dim_customer", "fct_payments", "rpt_runs"} <= _ran(wh, first)

    # a day of payments only: what payments reach is built, the rest stands as published;
    # the volume gate rightly blocks a night without orders, the operator accepts it
    before = {p for p in data.rglob("*") if p.is_file()}
    generate(data, CONFIG, days=1, cont=True)
    _only_payments_of_the_new_day(data, before)
    scope, lines = daily(code=1)
    assert scope.startswith("scope: 1 file loaded for payments.payments: what they reach"), scope
    blocked = [line.strip() for line in lines if line.startswith("  - ")]
    assert blocked, lines
    assert all(line.startswith("- volume:shop.") for line in blocked), blocked
    second = builds()[-1][0]
    ran = _ran(wh, second)
    assert {"stg_payments__payments", "int_payments_deduplicated", "fct_payments"} <= ran
    assert {"rpt_runs", "rpt_pipeline_health"} <= ran  # the night's own marts
    assert not {"dim_date", "dim_customer", "dim_product", "fct_order_items"} & ran
    accepted = run_elt(
        "publish", "--target", wh.kind, "--scope", "--accept", "volume",
        "--reason", "payments came a day early", env=env,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "published v000002" in accepted.stdout
    assert "nodes no new data reaches stand as the last published night" in accepted.stdout

    # no new file: no model runs, the night is recorded, nothing is published
    versions = run_elt("versions", "--target", wh.kind, "--json", env=env)
    scope, lines = daily()
    assert scope.startswith("scope: nothing new: no file loaded since the last published night")
    assert lines[-1].startswith("outcome: nothing new at "), lines[-1]
    assert "analysts read v000002" in lines[-1]
    assert not any("Running with dbt" in line for line in lines)
    last_id, last_status = builds()[-1]
    assert last_status == "skipped"
    assert _ran(wh, last_id) == set()
    assert run_elt("versions", "--target", wh.kind, "--json", env=env).stdout == versions.stdout
    said = json.loads(run_elt("status", "--target", wh.kind, "--json", env=env).stdout)
    assert said["last"]["outcome"] == "nothing new"
    assert said["current"]["number"] == 2
    assert "outcome-nothing-new" in (tmp_path / "report.html").read_text()
