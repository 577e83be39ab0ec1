"""No false blocks on PostgreSQL: the generator's normal data publishes every night (issue 25;
on DuckDB the 40-day routine of test_transform_history.py publishes every night).

`make run`'s default dataset (scale 0.01, 30 days) published, then ten nights of the routine,
each a new day loaded, built and audited against the version before: every night publishes,
no gate blocks, and the diff is the new day's. Forty days in all, so the anomaly gate runs
with its trailing-days baseline and then with four same weekdays; the volume gate has a
baseline from the first night.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from elt.generator.config import GeneratorConfig
from elt.tests.audit_cases import Site
from elt.tests.loader_helpers import make_wh

pytestmark = pytest.mark.slow
NIGHTS = 10


@pytest.mark.postgres
def test_forty_days_of_normal_data_publish_every_night_on_postgres(
    pg_database: str, tmp_path: Path
) -> None:
    kind = "postgres"
    site = Site(make_wh(kind, tmp_path, pg_database), tmp_path)
    config = GeneratorConfig(scale=0.01, seed=42, start=dt.date(2025, 1, 1))  # make run's
    warnings = []
    for night in range(NIGHTS + 1):
        built, published = site.night(days=30 if night == 0 else 1, config=config)
        assert built.returncode == 0, built.stdout[-3000:]
        assert published.returncode == 0, f"night {night}: " + published.stderr
        assert f"published v{night + 1:06d}" in published.stdout
        warnings += [line for line in published.stdout.splitlines() if "warning " in line]
        if night:
            assert f"against v{night:06d}" in published.stdout
    # the gates had a baseline: the last night's new day lies in a band of the history
    status = json.loads(site.elt("status", "--json").stdout)
    [chart] = [
        c
        for c in status["last"]["charts"]
        if (c["mart"], c["metric"]) == ("fct_order_items", "net_revenue_usd")
    ]
    newest = max(chart["candidate"])
    i = chart["days"].index(newest)
    assert chart["low"][i] is not None, chart
    assert chart["low"][i] <= chart["candidate"][newest] <= chart["high"][i]
    print(f"{kind}: {NIGHTS + 1} publications, {len(warnings)} warnings: {warnings}")
