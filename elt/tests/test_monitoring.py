"""The run history and the monitoring page (`elt report`), on both databases.

Three nights of the routine (elt/tests/routine.py): two good builds, published, and a third
whose test fails. The history must hold every load and build once, with every node; the page
must open from disk in headless Chromium with no error and no network request, and every
chart's points must equal SQL run on the warehouse here (numbers, not pixels).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from elt.browser import CHROMIUM_ARGS
from elt.history.runs import NODE_TYPES
from elt.tests.browser_checks import chromium_path
from elt.tests.conftest import REPO, run_elt
from elt.tests.routine import BAD_DISCOUNT_TEST, Routine

pytestmark = pytest.mark.slow
SCREENSHOTS = REPO / "artifacts" / "report"


def recorded_nodes(results: dict[str, Any]) -> dict[str, str]:
    return {
        r["unique_id"]: r["status"]
        for r in results["results"]
        if r["unique_id"].split(".")[0] in NODE_TYPES
    }


def test_every_load_and_build_is_recorded_once_with_its_nodes(routine: Routine) -> None:
    wh = routine.wh
    runs = wh.sql(
        "select command, status, exit_code, invocation_id from raw._elt_runs order by started_at"
    )
    assert [(r[0], r[1]) for r in runs] == [
        ("load", "success"),
        ("build", "success"),
        ("load", "success"),
        ("build", "success"),
        ("load", "success"),
        ("build", "error"),
    ]
    builds = [r for r in runs if r[0] == "build"]
    assert [r[2] for r in builds] == routine.build_exit_codes == [0, 0, 1]
    loads = [r[3] for r in runs if r[0] == "load"]
    # a load's files are in the manifest under its invocation id
    assert {r[0] for r in wh.sql("select distinct batch_id from raw._elt_manifest")} <= set(loads)
    for (_, _, _, invocation), results in zip(builds, routine.run_results, strict=True):
        assert invocation == results["metadata"]["invocation_id"]
        stored = dict(
            wh.sql(
                f"select unique_id, status from raw._elt_run_nodes where invocation_id = '{invocation}'"
            )
        )
        assert stored == recorded_nodes(results)
    # the failing test of night 3, with its failing rows, in the history and the marts
    [(status, failures)] = wh.sql(
        f"select status, failures from raw._elt_run_nodes where invocation_id = '{builds[2][3]}'"
        f" and unique_id like '%fct_order_items%{BAD_DISCOUNT_TEST}%'"
    )
    assert (status, failures) == ("fail", 1)
    [(failed, names)] = wh.sql(
        "select failed_items, failed_item_names from marts.rpt_runs where is_latest and not is_load"
    )
    assert failed >= 1
    assert BAD_DISCOUNT_TEST in names
    [(failing,)] = wh.sql("select failing_tests from marts.rpt_daily_test_results")
    assert BAD_DISCOUNT_TEST in failing


def test_recording_again_adds_nothing(routine: Routine) -> None:
    before = routine.wh.sql(
        "select (select count(*) from raw._elt_runs), (select count(*) from raw._elt_run_nodes)"
    )
    again = routine.elt(
        "record-run",
        "--target",
        routine.wh.kind,
        "--exit-code",
        "1",
        "--run-results",
        str(routine.work / "run_results-night3.json"),
    )
    assert again.returncode == 0, again.stderr
    assert "already recorded, nothing added" in again.stdout
    after = routine.wh.sql(
        "select (select count(*) from raw._elt_runs), (select count(*) from raw._elt_run_nodes)"
    )
    assert after == before


def test_recording_without_run_results_says_which_file(tmp_path: Path) -> None:
    missing = tmp_path / "run_results.json"
    result = run_elt(
        "record-run",
        "--target",
        "duckdb",
        "--run-results",
        str(missing),
        env={"ELT_DUCKDB_PATH": str(tmp_path / "w.duckdb")},
    )
    assert result.returncode == 2
    assert f"{missing} does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# --- the page, in the browser ---------------------------------------------------------------


Points = dict[tuple[str, str], float]
# how close a point must be: seconds and hours are rounded to 3 and 2 decimals by the marts,
# rates to 6; money and counts are exact
TOLERANCE = {
    "chart-run-durations": 0.01,
    "chart-freshness": 0.01,
    "chart-slowest-models": 0.0005,
    "chart-quarantine": 1e-6,
    "chart-rejects": 1e-6,
}


def points(rows: list[tuple[Any, ...]]) -> Points:
    """{(series, x): y}, zeros left out (a chart may draw a zero a query has no row for)."""
    return {(str(name), str(x)[:10]): float(y) for x, name, y in rows if y is not None and y != 0}


def expected_charts(routine: Routine) -> dict[str, Points]:
    """Every chart's points, from SQL on the raw history and on the published tables (not
    from the operations marts the page reads)."""
    wh = routine.wh
    if wh.kind == "duckdb":
        from elt.tests.test_publish import published as published_wh

        pub = published_wh(wh)
    else:
        pub = wh
    # each test's latest result of the day (a rerun replaces, it does not add)
    tests = wh.sql(
        "select day, status, count(*) from (select cast(runs.started_at as date) as day,"
        " nodes.status, row_number() over (partition by cast(runs.started_at as date),"
        " nodes.unique_id order by runs.started_at desc) as nth from raw._elt_run_nodes as nodes"
        " inner join raw._elt_runs as runs on nodes.invocation_id = runs.invocation_id"
        " where nodes.resource_type in ('test', 'unit_test')) as latest where nth = 1 group by 1, 2"
    )
    labels = {
        "pass": "passed",
        "warn": "warned",
        "fail": "failed",
        "error": "errored",
        "skipped": "skipped",
    }
    # the latest successful run of each model: the 15 slowest
    latest = wh.sql(
        "select n.node_name, n.execution_seconds from raw._elt_run_nodes as n"
        " inner join raw._elt_runs as r on n.invocation_id = r.invocation_id"
        " where n.resource_type = 'model' and n.status = 'success'"
        " and r.started_at = (select max(r2.started_at) from raw._elt_run_nodes as n2"
        "   inner join raw._elt_runs as r2 on n2.invocation_id = r2.invocation_id"
        "   where n2.unique_id = n.unique_id and n2.status = 'success')"
    )
    slowest = sorted(latest, key=lambda r: (-round(float(r[1]), 3), r[0]))[:15]
    days = wh.sql(
        "select source_table, cast(finished_at as date), max(finished_at), sum(rows_in_file)"
        " from raw._elt_manifest group by 1, 2 order by 1, 2"
    )
    [(measured_at,)] = wh.sql("select max(measured_at) from marts.rpt_pipeline_health")
    freshness = []
    for i, (source, day, last, _) in enumerate(days):
        following = days[i + 1] if i + 1 < len(days) and days[i + 1][0] == source else None
        until = following[2] if following else measured_at
        seconds = (until.replace(tzinfo=None) - last.replace(tzinfo=None)).total_seconds()
        freshness.append((day, source, round(seconds / 3600, 2)))  # the mart keeps 2 decimals
    rejects = wh.sql(
        "select cast(m.finished_at as date), m.source_table,"
        " 1.0 * count(r.source_file) / max(t.lines) from raw._elt_manifest as m"
        " left join marts.rpt_rejected_rows as r on r.source_file = m.file_path"
        " inner join (select source_table, cast(finished_at as date) as d, sum(rows_in_file) as lines"
        "   from raw._elt_manifest group by 1, 2) as t"
        " on t.source_table = m.source_table and t.d = cast(m.finished_at as date)"
        " group by 1, 2"
    )
    a = "analytics"
    return {
        "chart-test-results": points([(d, labels[s], n) for d, s, n in tests]),
        "chart-run-durations": points(
            wh.sql(
                "select cast(started_at as date), command,"
                " avg(extract(epoch from finished_at) - extract(epoch from started_at))"
                " from raw._elt_runs group by 1, 2"
            )
        ),
        "chart-slowest-models": {("latest build", name): float(s) for name, s in slowest if s},
        "chart-rows-loaded": points(
            wh.sql(
                "select cast(finished_at as date), source_table, sum(rows_loaded)"
                " from raw._elt_manifest group by 1, 2"
            )
        ),
        "chart-freshness": points(freshness),
        "chart-quarantine": points(
            wh.sql(
                "select cast(finished_at as date), source_table,"
                " case when sum(rows_in_file) > 0 then 1.0 * sum(rows_quarantined) / sum(rows_in_file) else 0 end"
                " from raw._elt_manifest group by 1, 2"
            )
        ),
        "chart-rejects": points(rejects),
        "chart-revenue-region": points(
            pub.sql(
                f"select l.order_date, g.region, sum(case when l.is_cancelled then 0 else l.gross_amount_usd end)"
                f" from {a}.fct_order_items as l inner join {a}.dim_geography as g"
                " on l.geography_sk = g.geography_sk group by 1, 2"
            )
        ),
        "chart-revenue-category": points(
            pub.sql(
                f"select l.order_date, p.category, sum(case when l.is_cancelled then 0 else l.gross_amount_usd end)"
                f" from {a}.fct_order_items as l inner join {a}.dim_product as p"
                " on l.product_sk = p.product_sk group by 1, 2"
            )
        ),
        "chart-orders": points(
            pub.sql(
                f"select cast(o.ordered_at as date), g.region, count(*) from {a}.fct_orders as o"
                f" inner join {a}.dim_geography as g on o.geography_sk = g.geography_sk group by 1, 2"
            )
        ),
        "chart-aov": points(
            pub.sql(
                f"select cast(o.ordered_at as date), g.region, sum(o.net_revenue_usd)"
                " / nullif(sum(case when o.is_cancelled or o.is_missing_fx_rate then 0 else 1 end), 0)"
                f" from {a}.fct_orders as o inner join {a}.dim_geography as g"
                " on o.geography_sk = g.geography_sk group by 1, 2"
            )
        ),
    }


def drawn_points(traces: list[dict[str, Any]]) -> Points:
    got: Points = {}
    for trace in traces:
        horizontal = trace.get("orientation") == "h"
        for x, y in zip(trace["x"], trace["y"], strict=True):
            key, value = (y, x) if horizontal else (x, y)
            if value is not None and value != 0:
                got[(trace["name"], str(key)[:10] if not horizontal else str(key))] = float(value)
    return got


def test_report_opens_offline_and_every_chart_matches_the_warehouse(routine: Routine) -> None:
    from playwright.sync_api import sync_playwright

    from elt.tests.test_publish import published as published_wh

    executable = chromium_path()
    page_url = routine.report.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            requests: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_url, wait_until="load")
            page.wait_for_function(
                "() => [...document.querySelectorAll('.js-plotly-plot')].every(g => g._fullLayout)"
            )
            load_ms = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
            drawn = page.evaluate(
                """() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(g => [
                    g.id, {
                        traces: g.data.map(t => ({name: t.name, x: t.x, y: t.y, orientation: t.orientation})),
                        points: g.querySelectorAll('.point, .trace path, .bars path').length,
                    }]))"""
            )
            last_run = page.locator("#last-run").inner_text()
            banner = page.locator("#outcome").inner_text()
            reading = page.locator("#reading-version").inner_text()
            outcome = page.locator("#outcome-word").inner_text()
            diff_rows = page.evaluate(
                """() => [...document.querySelectorAll('#diff-table tbody tr')].map(
                    tr => [...tr.querySelectorAll('td')].map(td => td.innerText))"""
            )
            problems = page.locator("#problems").inner_text()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"report-{routine.wh.kind}.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests == [page_url], [u for u in requests if u != page_url]
    (SCREENSHOTS / f"open-{routine.wh.kind}.json").write_text(
        json.dumps({"load_ms": load_ms, "bytes": routine.report.stat().st_size})
    )
    print(f"report page: {routine.report.stat().st_size / 1e6:.1f} MB, loaded in {load_ms:.0f} ms")
    expected = expected_charts(routine)
    assert set(expected) <= set(drawn)
    for chart_id, series in drawn.items():
        assert series["traces"], f"{chart_id} has no trace"
        assert series["points"] > 0, f"{chart_id} drew nothing"
    for chart_id, want in expected.items():
        got = drawn_points(drawn[chart_id]["traces"])
        tolerance = TOLERANCE.get(chart_id, 1e-9)
        # the expected points leave zeros out; a value the mart rounds one step above zero
        # (0.01 h where the hand-rounded figure is 0.00) is rounding, not a missing point
        near_zero = {k for k, v in got.items() if abs(v) <= tolerance + 1e-9}
        assert want.keys() <= got.keys(), chart_id
        assert got.keys() - near_zero <= want.keys(), chart_id
        off = {
            k: (got[k], v) for k, v in want.items() if abs(got[k] - v) > tolerance + 1e-9 * abs(v)
        }
        assert off == {}, chart_id
    # the banner: what analysts read (night 2's version), last night blocked, and why
    assert reading == "v000002"
    assert outcome == "blocked"
    assert BAD_DISCOUNT_TEST in banner
    assert "publication" in banner.lower()
    # its diff against SQL: the order lines the blocked candidate adds to what analysts read
    pub = published_wh(routine.wh) if routine.wh.kind == "duckdb" else routine.wh
    built = {r[0] for r in routine.wh.sql("select order_item_sk from marts.fct_order_items")}
    read = {r[0] for r in pub.sql("select order_item_sk from analytics.fct_order_items")}
    lines = next(r for r in diff_rows if r[0] == "fct_order_items")
    assert (int(lines[1]), int(lines[2])) == (len(built - read), len(read - built))
    # the morning's questions: did it run, and what failed
    assert "error" in last_run
    assert BAD_DISCOUNT_TEST in last_run
    assert BAD_DISCOUNT_TEST in problems


def test_report_waits_for_a_writer_and_then_says_who_holds_the_file(tmp_path: Path) -> None:
    """DuckDB: while dbt or the loader holds the file, the report waits, then exits 3 (a
    retry can succeed) without writing a page; it never holds the file against them."""
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        blocked = run_elt(
            "report",
            "--target",
            "duckdb",
            "--lock-timeout",
            "1",
            "--output",
            str(tmp_path / "blocked.html"),
            env={"ELT_DUCKDB_PATH": str(warehouse)},
        )
    finally:
        holder.kill()
        holder.wait()
    assert blocked.returncode == 3, blocked.stderr
    assert "dbt or the loader holds it" in blocked.stderr
    assert not (tmp_path / "blocked.html").exists()


def test_a_load_is_recorded_even_where_the_environment_has_no_user(tmp_path: Path) -> None:
    """Recording must never stop a load: dev where no user can be named (no ELT_DEV_USER, no
    login variable, no home folder) records the bare environment name."""
    from elt.generator.config import GeneratorConfig
    from elt.generator.run import generate

    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.002, seed=1), days=1)
    warehouse = tmp_path / "w.duckdb"
    result = run_elt(
        "load",
        "--target",
        "duckdb",
        "--data-dir",
        str(data),
        "--quiet",
        env={"ELT_ENV": "dev", "ELT_DUCKDB_PATH": str(warehouse)},
        unset=("USER", "LOGNAME", "USERNAME", "HOME", "ELT_DEV_USER"),
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.sql("select command, environment, status from raw._elt_runs").fetchall() == [
            ("load", "dev", "success")
        ]


def test_series_get_distinct_colours_and_the_unknown_member_grey() -> None:
    """Issue 25's page defects: Books and Unknown were both red, Garden and Beauty both blue
    (plotly's palette repeats after ten series)."""
    from elt.report.page import UNKNOWN_COLOUR, _colours

    categories = [
        "Beauty", "Books", "Clothing", "Electronics", "Garden", "Grocery",
        "Home", "Music", "Office", "Sports", "Toys", "Unknown",
    ]  # fmt: skip
    colours = _colours(categories)
    assert colours["Unknown"] == UNKNOWN_COLOUR
    assert len(set(colours.values())) == len(categories)
    # a name keeps its colour in every chart that shows the same names
    assert _colours(reversed(categories)) == colours


def test_elt_diff_compares_two_kept_versions(routine: Routine) -> None:
    """Night 2's published version against night 1's: the new day's rows are added, per mart,
    with the declared totals of the new day; a version that was never kept is named."""
    result = routine.elt("diff", "--from", "v1", "--to", "2", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["against"] == 1
    assert data["to"] == 2
    lines = next(m for m in data["marts"] if m["mart"] == "fct_order_items")
    assert lines["added"] > 0
    assert lines["candidate_rows"] == lines["published_rows"] + lines["added"] - lines["removed"]
    assert any(t["metric"] == "net_revenue_usd" and t["published"] is None for t in lines["totals"])
    missing = routine.elt("diff", "--from", "9")
    assert missing.returncode == 2
    assert "no kept version v000009 (kept: v000001, v000002)" in missing.stderr
