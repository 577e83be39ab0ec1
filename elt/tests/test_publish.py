"""Write-audit-publish on both databases (issue 14's findings as regression tests).

- a failed test blocks publication: analysts keep the previous version, exactly, the alert
  hook runs, and the next build stays blocked until the bad row is fixed;
- rollback returns analysts to the previous version's exact figures, and forward again;
- an analyst polling during publishes and rollbacks sees exactly one version every time;
- on DuckDB an analyst's open connection never blocks a build or a publish;
- a partial build, or a build of another invocation, is not published.

The warehouses run in a non-production environment (dev on DuckDB, ci on PostgreSQL), so the
prefixed schema names are exercised end to end as well.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from elt.environment import current
from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh
from elt.tests.mart_checks import build, fingerprints
from elt.tests.routine import add_bad_discount

pytestmark = pytest.mark.slow
MONDAY = dt.date(2025, 3, 3)
# one statement reading three marts: a published version always agrees with itself
TOTALS = """select
    (select sum(net_revenue_usd) from {s}.fct_order_items),
    (select sum(net_revenue_usd) from {s}.rpt_daily_sales),
    (select count(*) from {s}.fct_orders)"""


@pytest.fixture
def environment(wh: Wh, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in wh.env.items():  # for the commands run in this process
        monkeypatch.setenv(name, value)
    if wh.kind == "duckdb":
        monkeypatch.setenv("ELT_ENV", "dev")
        monkeypatch.setenv("ELT_DEV_USER", "Pat O'Neil")
    else:
        monkeypatch.setenv("ELT_ENV", "ci")
        monkeypatch.setenv("ELT_CI_RUN_ID", "run-42")


def published(wh: Wh) -> Wh:
    """What analysts open: DuckDB's published file, or the same PostgreSQL database."""
    if wh.kind == "duckdb":
        path = Path(wh.env["ELT_DUCKDB_PATH"]).with_name(f"{current().prefix}published.duckdb")
        return Wh(wh.kind, {**wh.env, "ELT_DUCKDB_PATH": str(path)})
    return wh


def elt(wh: Wh, work: Path, *args: str) -> Any:
    return run_elt(
        *args, "--target", wh.kind, env={**wh.env, "DBT_TARGET_PATH": str(work / "target")}
    )


def seen(wh: Wh) -> dict[str, tuple[int, str]]:
    return fingerprints(published(wh), current().published_schema)


def _delta_rows(lake: Path, mart: str, version: int | None = None) -> int:
    from deltalake import DeltaTable

    return int(DeltaTable(lake / mart, version=version).to_pyarrow_table().num_rows)


def test_failed_test_blocks_publication_and_rollback_restores_figures(
    wh: Wh, tmp_path: Path, environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELT_DELTA_DIR", str(tmp_path / "lake"))
    env = current()
    lake = tmp_path / "lake" / env.published_schema
    assert env.prefix in ("dev_pat_o_neil_", "ci_run_42_")
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=7, start=MONDAY), days=3)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    first = elt(wh, tmp_path, "publish")
    assert first.returncode == 0, first.stderr
    assert "published v000001" in first.stdout
    v1 = seen(wh)
    # the build area carries the environment's prefix; analysts read <prefix>analytics
    assert wh.sql(f"select count(*) from {env.schema('marts')}.fct_orders")[0][0] > 0

    generate(data, GeneratorConfig(scale=0.005, seed=7, start=MONDAY), days=1, cont=True)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    assert elt(wh, tmp_path, "publish").returncode == 0
    v2 = seen(wh)
    assert v2 != v1
    # the audit trail: every day's total at v1, then the days v2 added or restated; its
    # latest figures are what analysts read (elt.publish.trail)
    trail = wh.sql(
        f"select version, business_day, value from {env.schema('publish')}.published_daily_totals"
        " where mart = 'rpt_daily_sales' and total = 'net_revenue_usd' order by 1, 2"
    )
    shown = dict(
        published(wh).sql(
            f"select order_date, sum(net_revenue_usd) from {env.published_schema}.rpt_daily_sales"
            " group by 1"
        )
    )
    assert {day for version, day, _ in trail if version == 1} == set(shown) - {max(shown)}
    assert max(shown) in {day for version, day, _ in trail if version == 2}
    assert {day: value for _, day, value in trail} == shown

    # a line with a discount of -100,000.00 on a live order: the build's test fails
    add_bad_discount(wh, data, env.schema("marts"))
    assert wh.load(data).ok
    failing = dbt(tmp_path, wh.kind, "build", database=wh.env.get("ELT_PG_DATABASE"))
    assert failing.returncode == 1
    assert "discount_amount_between_0_and_gross_amount" in failing.stdout
    alert = tmp_path / "alert.json"
    blocked = run_elt(
        "publish",
        "--target",
        wh.kind,
        env={
            **wh.env,
            "DBT_TARGET_PATH": str(tmp_path / "target"),
            "ELT_ALERT_COMMAND": f"cat > {alert}",
        },
    )
    assert blocked.returncode == 1
    assert "publication blocked" in blocked.stderr
    assert "expression_is_true_fct_order_items_discount_amount" in blocked.stderr
    assert "analysts keep v000002" in blocked.stderr
    sent = json.loads(alert.read_text())
    assert (sent["step"], sent["status"]) == ("elt publish", "failed")
    assert seen(wh) == v2  # the previous version, exactly

    # the next night, nothing new: the bad row loaded since the last publication is still
    # under test, so the build stays blocked (tests do not look only at the latest load)
    again = dbt(tmp_path, wh.kind, "build", database=wh.env.get("ELT_PG_DATABASE"))
    assert again.returncode == 1, again.stdout[-3000:]
    assert "discount_amount_between_0_and_gross_amount" in again.stdout
    assert elt(wh, tmp_path, "publish").returncode == 1

    # a partial build is not published either
    partial = dbt(
        tmp_path, wh.kind, "build", "--select", "dim_date", database=wh.env.get("ELT_PG_DATABASE")
    )
    assert partial.returncode == 0, partial.stdout[-2000:]
    refused = elt(wh, tmp_path, "publish")
    assert refused.returncode == 1
    assert "were not part of this build" in refused.stderr

    # one command: back to the version before, exactly; and forward again
    back = elt(wh, tmp_path, "rollback")
    assert back.returncode == 0, back.stderr
    assert "analysts now read v000001" in back.stdout
    assert seen(wh) == v1
    listed = json.loads(elt(wh, tmp_path, "versions", "--json").stdout)
    assert [(v["number"], v["is_current"]) for v in listed] == [(1, True), (2, False)]
    # the Delta tables (ELT_DELTA_DIR): a version per publication and per rollback, the
    # latest what analysts read, each published version found by its number
    delta_versions = json.loads((lake / "_elt_versions.json").read_text())
    assert delta_versions["1"]["fct_orders"] == 2  # published, published, rolled back
    assert _delta_rows(lake, "fct_orders") == listed[0]["rows"]["fct_orders"]
    v2_rows = _delta_rows(lake, "fct_orders", delta_versions["2"]["fct_orders"])
    assert v2_rows == listed[1]["rows"]["fct_orders"] > listed[0]["rows"]["fct_orders"]
    assert all(v["tests"].get("pass", 0) > 50 and v["git_commit"] for v in listed)
    assert listed[1]["rows"]["fct_order_items"] > listed[0]["rows"]["fct_order_items"]
    assert listed[0]["environment"] == env.name
    assert elt(wh, tmp_path, "rollback", "--to", "2").returncode == 0
    assert seen(wh) == v2
    nothing = elt(wh, tmp_path, "rollback", "--to", "9")
    assert nothing.returncode == 2
    assert "version 9 is not kept" in nothing.stderr


def test_analysts_see_one_version_at_a_time(wh: Wh, tmp_path: Path, environment: None) -> None:
    """Polls from another thread while versions are published and switched: every poll sees
    one whole version (0 mixed reads, 0 errors). On DuckDB an analyst's connection held open
    all along blocks neither the build nor the publisher."""
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=8, start=MONDAY), days=2)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    assert elt(wh, tmp_path, "publish").returncode == 0
    schema = current().published_schema
    reader = published(wh)
    held = hold_open(reader, TOTALS.format(s=schema))  # an analyst's session, open throughout
    try:
        first_seen = held.stdout.readline().strip() if held.stdout else ""
        generate(data, GeneratorConfig(scale=0.005, seed=8, start=MONDAY), days=1, cont=True)
        assert wh.load(data).ok
        build(wh, tmp_path, allow_warnings=True)  # DuckDB: not blocked by the analyst
        versions: dict[tuple[Any, ...], int] = {}
        polls: list[tuple[Any, ...]] = []
        errors: list[str] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                try:
                    polls.append(reader.sql(TOTALS.format(s=schema))[0])
                except Exception as exc:  # noqa: BLE001 - every error counts
                    errors.append(repr(exc))

        thread = threading.Thread(target=poll)
        thread.start()
        try:
            assert elt(wh, tmp_path, "publish").returncode == 0
            for _ in range(10):
                for number in (1, 2):
                    switch(wh, number)
        finally:
            stop.set()
            thread.join()
        assert errors == []
        for number in (1, 2):
            switch(wh, number)
            versions[reader.sql(TOTALS.format(s=schema))[0]] = number
        assert len(versions) == 2
        mixed = [p for p in polls if p not in versions]
        assert len(polls) > 20
        assert mixed == []
        # the analyst's session still answers, from the version it opened (DuckDB) or the
        # current one (PostgreSQL)
        out, err = held.communicate("\n", timeout=60)
        assert held.returncode == 0, err
        now = next(totals for totals, number in versions.items() if number == 2)
        assert out.strip() == (first_seen if wh.kind == "duckdb" else repr(now))
    finally:
        held.kill()


def switch(wh: Wh, number: int) -> None:
    from elt.environment import current
    from elt.publish.run import open_store
    from elt.warehouse.profile import load_target

    store = open_store(load_target(REPO, REPO, wh.kind), current())
    try:
        store.switch(number)
    finally:
        store.close()


HOLDER = """
import sys
from elt.tests.loader_helpers import Wh
kind, path, database, query = sys.argv[1:]
wh = Wh(kind, {"ELT_DUCKDB_PATH": path, "ELT_PG_DATABASE": database})
with wh.connect() as con:
    def ask():
        if kind == "duckdb":
            return tuple(con.execute(query).fetchone())
        with con.cursor() as cur:
            cur.execute(query)
            con.commit()
            return tuple(cur.fetchone())
    print(repr(ask()), flush=True)
    sys.stdin.readline()
    print(repr(ask()), flush=True)
"""


def hold_open(wh: Wh, query: str) -> subprocess.Popen[str]:
    """An analyst in a process of their own (DuckDB shares an open database within a
    process), with a connection open until told to ask again."""
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            HOLDER,
            wh.kind,
            wh.env["ELT_DUCKDB_PATH"],
            wh.env.get("ELT_PG_DATABASE", ""),
            query,
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_killed_build_changes_nothing_analysts_see(
    wh: Wh, tmp_path: Path, environment: None
) -> None:
    """kill -9 of `dbt build` half-way (issue 14: the marts then disagreed until the next run):
    analysts keep the published version, whole, and the half-built area is not publishable."""
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.005, seed=9, start=MONDAY), days=2)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    assert elt(wh, tmp_path, "publish").returncode == 0
    before = seen(wh)
    generate(data, GeneratorConfig(scale=0.005, seed=9, start=MONDAY), days=1, cont=True)
    assert wh.load(data).ok
    from elt.tests.dbt_runner import DBT, dbt_env

    env = dbt_env(tmp_path, wh.kind, wh.env.get("ELT_PG_DATABASE"))
    proc = subprocess.Popen(
        [DBT, "build", "--project-dir", str(REPO), "--target", wh.kind],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:  # kill it once the marts are being rebuilt
        if "fct_order_items" in line and " OK " in line:
            proc.kill()
            break
    proc.wait(timeout=600)
    assert proc.returncode == -9
    assert seen(wh) == before
    refused = elt(wh, tmp_path, "publish")
    assert refused.returncode == 1, refused.stdout
    assert "different dbt invocations" in refused.stderr
    assert seen(wh) == before
