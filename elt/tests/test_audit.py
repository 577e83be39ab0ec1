"""The publication audit looks at the numbers (issue 25's findings as regression tests).

- the gates, on series made up here: a day far off its baseline blocks, noise does not, small
  segments do not block on their own noise, a missing source, an odd file and a re-delivered
  one block, a restated month blocks over its share; --accept takes a check or a prefix;
- on DuckDB and PostgreSQL, each injected case (a quantity typed 100000 or -1000, a day's
  prices in cents, a missing file, a day delivered twice, one currency's FX rate x1000, last
  month restated by 5%) is blocked with a reason naming mart, metric, segment, day, value and
  baseline, and analysts' figures do not move;
- an acceptance publishes and is recorded; a rollback holds through later nights, retention
  keeps the held version and the last known good, and after a release the next candidate is
  diffed against the held version.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from elt.publish.diff import DayRows, MartDiff, Series
from elt.publish.gates import (
    BLOCK,
    WARN,
    LoadedFile,
    anomalies,
    redeliveries,
    restatements,
    volumes,
)
from elt.publish.review import _redeliveries, matching
from elt.publish.spec import Gates, MartSpec, SourceSpec, Total
from elt.tests import audit_cases as cases
from elt.tests.audit_cases import CASE_DAY, Site, base_site, clone

# --- the gates on made-up series (no warehouse) --------------------------------------------

DAY = dt.date(2025, 3, 5)  # a Wednesday
SPEC = MartSpec(
    name="fct_x",
    key=("x_sk",),
    business_date="order_date",
    totals=(Total("revenue", "sum(r)", 100.0),),
    segments=("region",),
    gates=Gates(),
)


def _mart(
    history: dict[dt.date, float],
    today: float,
    segments: dict[str, tuple[list[float], float]] | None = None,
) -> MartDiff:
    """A mart whose published days are ``history`` and whose candidate adds DAY = today."""
    series: dict[Any, Any] = {("revenue", "", ""): {d: (v, v) for d, v in history.items()}}
    series[("revenue", "", "")][DAY] = (None, today)
    for name, (values, now) in (segments or {}).items():
        days = sorted(history)
        series[("revenue", "region", name)] = {
            d: (v, v) for d, v in zip(days, values, strict=False)
        }
        series[("revenue", "region", name)][DAY] = (None, now)
    mart = MartDiff(
        "fct_x", ["x_sk"], 0, 0, 1, 0, 0, 0, None, {}, [], [], [DayRows(DAY, 0, 1, 1, 0, 0)]
    )
    mart.series = series
    return mart


def _history(values: list[float]) -> dict[dt.date, float]:
    return {DAY - dt.timedelta(days=i + 1): v for i, v in enumerate(values)}


def test_a_day_far_off_its_baseline_blocks_and_normal_noise_does_not() -> None:
    history = _history([1000 + 37 * (i % 7) for i in range(28)])
    assert anomalies(_mart(history, 1150), SPEC) == []
    [finding] = anomalies(_mart(history, 1_000_000), SPEC)
    assert (finding.severity, finding.check, finding.segment, finding.day) == (
        BLOCK,
        "anomaly:fct_x.revenue",
        "all",
        "2025-03-05",
    )
    assert finding.value == 1_000_000
    assert finding.baseline is not None
    assert "against a baseline of" in finding.message
    assert "Wednesdays" in finding.message
    [low] = anomalies(_mart(history, 0), SPEC)  # the day's data is missing
    assert low.severity == BLOCK
    [warned] = anomalies(_mart(history, 3500), SPEC)
    assert warned.severity == WARN


def test_the_baseline_is_the_same_weekday_then_the_trailing_days() -> None:
    # Wednesdays earn ten times the other days: a Wednesday at that level is normal
    history = {
        DAY - dt.timedelta(days=n): (10_000.0 if n % 7 == 0 else 1000.0) for n in range(1, 57)
    }
    assert anomalies(_mart(history, 10_500), SPEC) == []
    # too little history for four Wednesdays: the trailing days
    short = _history([1000.0] * 10)
    [f] = anomalies(_mart(short, 10_500), SPEC)
    assert "published days" in f.message
    # too little of anything: no baseline, no finding
    assert anomalies(_mart(_history([1000.0] * 3), 1_000_000), SPEC) == []


def test_a_small_segment_s_noise_does_not_block_but_a_material_error_does() -> None:
    history = _history([5000 + 400 * ((i * 3) % 5) for i in range(28)])
    small = [150.0 + 20 * (i % 3) for i in range(28)]
    # one expensive line: the small segment is seven times its median, the day is normal
    assert anomalies(_mart(history, 6000, {"North": (small, 1150.0)}), SPEC) == []
    # a currency error in the segment moves the day: both block, the segment named
    found = anomalies(_mart(history, 160_000, {"North": (small, 155_000.0)}), SPEC)
    assert {(f.segment, f.severity) for f in found} == {("all", BLOCK), ("region=North", BLOCK)}


def test_a_restated_month_blocks_over_its_share() -> None:
    days = [dt.date(2025, 2, d) for d in range(1, 29)]
    series: Series = {("revenue", "", ""): dict.fromkeys(days, (1000.0, 1000.0))}
    series[("revenue", "", "")][dt.date(2025, 2, 3)] = (1000.0, 2400.0)  # +5% of February
    mart = MartDiff(
        "fct_x",
        ["x_sk"],
        0,
        0,
        0,
        0,
        5,
        5,
        "2025-02-21",
        {},
        [],
        [],
        [DayRows(dt.date(2025, 2, 3), 5, 5, 0, 0, 5)],
    )
    mart.series = series
    [f] = restatements(mart, SPEC)
    assert (f.severity, f.check, f.day) == (BLOCK, "restated:fct_x.revenue", "2025-02")
    assert "+5.0%" in f.message
    series[("revenue", "", "")][dt.date(2025, 2, 3)] = (1000.0, 1100.0)  # +0.36%: under warn
    assert restatements(mart, SPEC) == []


def _file(
    table: str, path: str, rows: int, batch: str, new: bool, content: str = "", reload: bool = False
) -> LoadedFile:
    return LoadedFile(table, path, content or path, rows, batch, new, reload)


SOURCES = [
    SourceSpec("shop.order_items", True, False, 20, 3, 2.0, 5.0),
    SourceSpec("shop.orders", True, False, 20, 3, 2.0, 5.0),
    SourceSpec("shop.products", True, True, 20, 3, 2.0, 5.0),
    SourceSpec("finance.fx_rates", False, False, 20, 3, 2.0, 5.0),
]


def test_volume_a_missing_source_an_odd_file_and_a_redelivery_block() -> None:
    old = [
        _file(t, f"{t}/{d}.csv", n, f"b{d}", False)
        for d in range(1, 6)
        for t, n in (("shop.order_items", 110), ("shop.orders", 40), ("shop.products", 500))
    ]
    normal = [
        _file("shop.orders", "orders/6.csv", 42, "b6", True),
        _file("shop.order_items", "items/6.csv", 105, "b6", True),
        _file("shop.products", "products/6.csv", 500, "b6", True),
    ]
    assert volumes(old + normal, SOURCES, "v000005") == []  # fx_rates: not every load
    missing = volumes(old + normal[:1] + normal[2:], SOURCES, "v000005")
    assert [(f.check, f.severity, f.value) for f in missing] == [
        ("volume:shop.order_items", BLOCK, 0)
    ]
    assert "no file" in missing[0].message
    assert "110" in missing[0].message
    cut = volumes(
        [*old, normal[0], _file("shop.order_items", "items/6.csv", 9, "b6", True), normal[2]],
        SOURCES,
        "v5",
    )
    assert [(f.check, f.severity) for f in cut] == [("volume:shop.order_items", BLOCK)]
    # a corrected order-lines file reloaded alone: a restatement, not a load without orders
    corrected = _file("shop.order_items", "items/5.csv", 108, "b6", True, reload=True)
    assert volumes([*old, corrected], SOURCES, "v5") == []
    # a new day's orders with only a reloaded file beside them: still without its lines
    assert [f.check for f in volumes([*old, corrected, normal[0]], SOURCES, "v5")] == [
        "volume:shop.order_items",
        "volume:shop.products",
    ]
    # the same content under a new name: a re-delivery; a full extract may repeat itself
    again = [
        *old,
        *normal,
        _file("shop.order_items", "items/6-resent.csv", 105, "b6", True, content="items/6.csv"),
        _file("shop.products", "products/7.csv", 500, "b6", True, content="products/6.csv"),
    ]

    pairs = _redeliveries(again)
    assert [p[0] for p in pairs] == ["shop.order_items", "shop.products"]
    assert {pairs[0][1], pairs[0][2]} == {"items/6.csv", "items/6-resent.csv"}
    [f] = redeliveries(pairs, SOURCES, "v5")
    assert f.check == "redelivery:shop.order_items"
    assert "items/6.csv" in f.message


def test_accept_names_a_check_or_everything_under_a_prefix() -> None:
    history = _history([1000.0] * 28)
    found = anomalies(_mart(history, 1_000_000), SPEC)
    assert matching(["anomaly:fct_x.revenue"], found) == {
        "anomaly:fct_x.revenue": ["anomaly:fct_x.revenue"]
    }
    assert matching(["anomaly:fct_x"], found)["anomaly:fct_x"] == ["anomaly:fct_x.revenue"]
    assert matching(["anomaly:"], found)["anomaly:"] == ["anomaly:fct_x.revenue"]
    assert matching(["anomaly:fct_xy"], found)["anomaly:fct_xy"] == []


# --- end to end, on both databases -----------------------------------------------------------

# one statement over three marts, as an analyst reads them
FIGURES = """select
    (select sum(net_revenue_usd) from analytics.fct_order_items),
    (select sum(net_revenue_usd) from analytics.rpt_daily_sales),
    (select count(*) from analytics.fct_orders)"""


def _pg_database(request: pytest.FixtureRequest) -> str | None:
    if "postgres" not in request.node.callspec.id:
        return None
    name = f"elt_test_{uuid.uuid4().hex[:10]}"
    request.getfixturevalue("_session_pg_databases").append(name)
    return name


@pytest.fixture(
    scope="module", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def base(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Site:
    """Thirteen days published as v1, one normal night as v2 (elt/tests/audit_cases.py)."""
    database = None
    if request.param == "postgres":
        from elt.pgsetup import Admin, Roles, setup
        from elt.tests.conftest import pg_settings

        database = f"elt_test_{uuid.uuid4().hex[:10]}"
        s = pg_settings()
        setup(Admin(s["host"], int(s["port"]), s["user"], s["password"] or None, database), Roles())
        request.getfixturevalue("_session_pg_databases").append(database)
    return base_site(request.param, tmp_path_factory.mktemp(f"audit-{request.param}"), database)


CASE = CASE_DAY.isoformat()
INJECTED: dict[str, tuple[Any, list[str]]] = {
    "quantity_100000": (
        cases.quantity(100_000),
        [
            "plausible_range_fct_order_items_quantity",
            "value 100000",
            f"anomaly:fct_order_items.net_revenue_usd: fct_order_items.net_revenue_usd [all] on {CASE}",
        ],
    ),
    "quantity_minus_1000": (
        cases.quantity(-1000),
        ["plausible_range_fct_order_items_quantity", "value -1000"],
    ),
    "prices_in_cents": (
        cases.prices_times_100,
        [
            "fct_order_items_unit_price_within_list_price_band",
            f"fct_order_items.net_revenue_usd [all] on {CASE}",
        ],
    ),
    "lines_missing": (
        cases.lines_missing,
        ["volume:shop.order_items: source shop.order_items: no file"],
    ),
    "delivered_twice": (
        cases.delivered_twice,
        ["redelivery:shop.order_items", "redelivery:shop.orders"],
    ),
    "fx_rate_x1000": (
        # the lines in pounds fail the price band (so rpt_daily_sales is not rebuilt: its
        # per-currency gate is proven on made-up series above), and the day's revenue blocks
        cases.fx_times_1000("GBP"),
        [
            "fct_order_items_unit_price_within_list_price_band",
            f"fct_order_items.net_revenue_usd [all] on {CASE}",
            f"fct_payments.succeeded_usd [all] on {CASE}",
        ],
    ),
    "last_month_restated": (
        cases.restate,
        [
            "restated:fct_order_items.net_revenue_usd: fct_order_items.net_revenue_usd of 2025-02 restated"
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(INJECTED))
def test_each_injected_case_is_blocked_with_its_reason(
    base: Site, case: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    edit, reasons = INJECTED[case]
    database = f"elt_test_{uuid.uuid4().hex[:10]}" if base.wh.kind == "postgres" else None
    if database:
        request.getfixturevalue("_session_pg_databases").append(database)
    site = clone(base, tmp_path / "site", database)
    before = site.published(FIGURES)
    _, published = site.night(edit=edit)
    assert published.returncode == 1, published.stdout + published.stderr
    said = published.stderr
    assert said.startswith("publication blocked"), said
    assert "analysts keep v000002" in said
    for reason in reasons:
        assert reason in said, said
    if "anomaly:" in said:
        assert "against a baseline of" in said  # the value and the baseline, named
    assert "runbook" in said
    assert site.published(FIGURES) == before  # analysts' figures did not move
    status = json.loads(site.elt("status", "--json").stdout)
    assert status["last"]["outcome"] == "blocked"
    assert status["current"]["number"] == 2


def test_accept_then_rollback_holds_and_release_diffs_against_the_held_version(
    base: Site, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database = f"elt_test_{uuid.uuid4().hex[:10]}" if base.wh.kind == "postgres" else None
    if database:
        request.getfixturevalue("_session_pg_databases").append(database)
    site = clone(base, tmp_path / "site", database)
    keep = {"ELT_PUBLISH_KEEP": "2", "ELT_OPERATOR": "Dana Ops"}
    v2 = site.published(FIGURES)

    # last month restated: blocked, then accepted (every restated check, by prefix)
    _, blocked = site.night(edit=cases.restate)
    assert blocked.returncode == 1
    assert "restated:" in blocked.stderr
    no_reason = site.elt("publish", "--accept", "restated:", **keep)
    assert no_reason.returncode != 0
    assert "--reason" in no_reason.stderr
    wrong = site.elt("publish", "--accept", "anomaly:dim_date", "--reason", "x", **keep)
    assert wrong.returncode != 0
    assert "no blocking check" in wrong.stderr
    accepted = site.elt(
        "publish", "--accept", "restated:", "--reason", "February reissued by finance", **keep
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "published v000003" in accepted.stdout
    assert "accepted by Dana Ops" in accepted.stdout
    versions = {v["number"]: v for v in json.loads(site.elt("versions", "--json").stdout)}
    record = versions[3]["audit"]["accepted"]
    assert record["by"] == "Dana Ops"
    assert record["reason"] == "February reissued by finance"
    assert record["checks"]
    assert all(c.startswith("restated:") for c in record["checks"])
    assert record["at"]
    assert "restated" in " ".join(f["check"] for f in versions[3]["audit"]["findings"])

    # a second accepted version: retention (keep 2) still keeps v2, the last known good
    _, again = site.night(edit=cases.restate)
    assert again.returncode == 1
    assert site.elt("publish", "--accept", "restated:", "--reason", "again", **keep).returncode == 0
    kept = [v["number"] for v in json.loads(site.elt("versions", "--json").stdout)]
    assert kept == [2, 3, 4], kept

    # rollback to v2 holds analysts there: two nights later they still read v2
    rolled = site.elt("rollback", "--to", "2", "--reason", "the reissue was wrong", **keep)
    assert rolled.returncode == 0, rolled.stderr
    assert "held at v000002" in rolled.stdout
    for _ in range(2):
        _, refused = site.night()
        assert refused.returncode == 1
        assert "publication refused: held at v000002 since" in refused.stderr
        assert "by Dana Ops: the reissue was wrong" in refused.stderr
        assert site.published(FIGURES) == v2
    kept = [v["number"] for v in json.loads(site.elt("versions", "--json").stdout)]
    assert 2 in kept
    status = json.loads(site.elt("status", "--json").stdout)
    assert status["last"]["outcome"] == "held"
    assert status["hold"]["version"] == 2
    assert status["current"]["number"] == 2
    assert status["how"] == "rolled back"

    # released: the next candidate is diffed against v2, what analysts read; the raw files
    # still hold the reissue, so it is blocked again until someone accepts it
    assert "released" in site.elt("release", **keep).stdout
    _, after = site.night()
    assert after.returncode == 1
    assert "against v000002" in after.stderr
    assert "restated:fct_order_items.net_revenue_usd" in after.stderr
    published = site.elt(
        "publish", "--accept", "restated:", "--reason", "reissue confirmed", **keep
    )
    assert published.returncode == 0, published.stderr
    assert "against v000002" in published.stdout
    assert site.elt("status", "--line").stdout.startswith("outcome: published v000005")
    md = site.elt("diff", "--version", "5", "--format", "markdown").stdout
    assert "### Diff against v000002" in md
    assert "| fct_order_items |" in md


def test_the_diff_counts_rows_columns_and_totals_in_the_warehouse() -> None:
    """The diff's two passes on DuckDB (the same statements run on PostgreSQL in the cases
    below and on Spark in test_spark.py): added, removed, changed rows per day, the rows each
    column changed in, and the daily totals on both sides, per segment too."""
    import duckdb

    from elt.publish.diff import diff_mart
    from elt.publish.duckdb_store import DuckDBWarehouse

    con = duckdb.connect()
    con.execute(
        "create table published_lines as select * from (values"
        " (1, date '2025-03-03', 'EU', 10.00::decimal(18,2)),"
        " (2, date '2025-03-03', 'EU', 20.00::decimal(18,2)),"
        " (3, date '2025-03-04', 'NA', 30.00::decimal(18,2)),"
        " (5, date '2025-03-04', null, 5.00::decimal(18,2)))"
        " as t(line_id, order_date, region, amount)"
    )
    con.execute(
        "create table candidate_lines as select * from (values"
        " (1, date '2025-03-03', 'EU', 10.00::decimal(18,2)),"
        " (2, date '2025-03-03', 'NA', 25.00::decimal(18,2)),"
        " (4, date '2025-03-05', 'EU', 40.00::decimal(18,2)),"
        " (5, date '2025-03-04', '', 5.00::decimal(18,2)))"
        " as t(line_id, order_date, region, amount)"
    )
    spec = MartSpec(
        "lines",
        ("line_id",),
        "order_date",
        (Total("amount", "sum(amount)", 0.0), Total("lines", "count(*)", 0.0)),
        ("region",),
        Gates(),
    )
    got = diff_mart(DuckDBWarehouse(con), spec, "candidate_lines", "published_lines")
    assert (got.published_rows, got.candidate_rows) == (4, 4)
    # a null that became an empty string is a change
    assert (got.added, got.removed, got.changed) == (1, 1, 2)
    assert got.columns_changed == {"order_date": 0, "region": 2, "amount": 1}
    by_day = {d.day: (d.added, d.removed, d.changed) for d in got.days}
    assert by_day == {
        dt.date(2025, 3, 3): (0, 0, 1),
        dt.date(2025, 3, 4): (0, 1, 1),
        dt.date(2025, 3, 5): (1, 0, 0),
    }
    day = dt.date(2025, 3, 3)
    assert got.series[("amount", "", "")][day] == (30.0, 35.0)
    assert got.series[("amount", "region", "NA")][day] == (None, 25.0)
    assert got.series[("lines", "region", "(none)")][dt.date(2025, 3, 4)] == (1.0, None)
