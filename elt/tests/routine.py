"""Three nights of the daily routine, as `make generate load build publish report` runs them,
shared by the monitoring and semantic-layer tests (built once per database per session).

Nights 1 and 2 pass and are published; on night 3 a line with a discount of -100,000.00
fails a test, so the build is recorded as an error and publication is blocked: the morning
page must show what failed, and analysts (and the metrics) keep night 2's figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh

MONDAY = dt.date(2025, 3, 3)
BAD_DISCOUNT_TEST = "discount_amount_between_0_and_gross_amount"


@dataclasses.dataclass
class Routine:
    wh: Wh
    work: Path
    data: Path
    report: Path  # the page `elt report` wrote after the third night
    run_results: list[dict[str, Any]]  # each night's dbt build
    build_exit_codes: list[int]

    @property
    def env(self) -> dict[str, str]:
        """What `elt` needs to reach this warehouse and its dbt artifacts."""
        return {**self.wh.env, "DBT_TARGET_PATH": str(self.work / "target")}

    def elt(self, *args: str) -> Any:
        return run_elt(*args, env=self.env)


def run_routine(wh: Wh, work: Path) -> Routine:
    data = work / "data"
    cfg = GeneratorConfig(scale=0.005, seed=11, start=MONDAY)
    database = wh.env.get("ELT_PG_DATABASE")
    routine = Routine(wh, work, data, work / "report.html", [], [])
    for night in range(3):
        generate(data, cfg, days=2 if night == 0 else 1, cont=night > 0)
        if night == 2:
            add_bad_discount(wh, data)
        assert wh.load(data).ok
        built = dbt(work, wh.kind, "build", database=database)
        results_file = work / "target" / "run_results.json"
        routine.run_results.append(json.loads(results_file.read_text()))
        routine.build_exit_codes.append(built.returncode)
        shutil.copyfile(results_file, work / f"run_results-night{night + 1}.json")
        recorded = routine.elt(
            "record-run",
            "--target",
            wh.kind,
            "--exit-code",
            str(built.returncode),
            "--run-results",
            str(results_file),
        )
        assert recorded.returncode == 0, recorded.stderr
        published = routine.elt("publish", "--target", wh.kind)
        if night < 2:
            assert built.returncode == 0, built.stdout[-4000:]
            assert published.returncode == 0, published.stderr
        else:
            assert built.returncode == 1, built.stdout[-4000:]
            assert published.returncode == 1, published.stdout + published.stderr
    written = routine.elt("report", "--target", wh.kind, "--output", str(routine.report))
    assert written.returncode == 0, written.stderr
    return routine


def add_bad_discount(wh: Wh, data: Path, marts: str = "marts") -> None:
    """A line with a discount of -100,000.00 on a live order (the generator never writes
    one): the discount tests of fct_order_items and fct_orders fail on it."""
    [(order_id, line)] = wh.sql(
        f"select order_id, max(line_number) + 1 from {marts}.fct_order_items "
        "where not is_orphan_order group by order_id order by order_id limit 1"
    )
    bad = data / "shop" / "order_items" / "2099-01-01" / "part-000.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "order_id,line_number,product_id,quantity,unit_price,discount,created_at\n"
        f"{order_id},{line},1,1,10.00,-100000.00,2025-03-04T10:00:00Z\n"
    )
