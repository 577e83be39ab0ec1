"""The transform layer is incremental by load and its history is derived from raw.

- a day-by-day build, a one-shot build, a --full-refresh and a rebuild from the files after
  losing the warehouse give the same marts, row for row (run metadata columns aside);
- a 40-day daily routine on the default messiness stays green every day;
- a regression test for each finding of the issue that introduced this design.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, pg_settings
from elt.tests.dbt_runner import DBT, build_in_process, dbt, dbt_env, night_in_process
from elt.tests.loader_helpers import Wh, make_wh
from elt.tests.mart_checks import build, differing, drop_warehouse, fingerprints, row_identities
from elt.warehouse.postgres import LOCK_KEY

MONDAY = dt.date(2025, 3, 3)


def _rebuild_from_files(wh: Wh, data: Path, work: Path) -> dict[str, tuple[int, str]]:
    """Disaster drill: lose the warehouse, keep the raw files, load them all and build once."""
    drop_warehouse(wh)
    assert wh.load(data).ok
    build(wh, work, allow_warnings=True)
    return fingerprints(wh)


@pytest.mark.slow
def test_forty_day_routine_stays_green_and_rebuilds_identically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make generate daily` once a day for 40 days on the default sample data (its messiness
    included: quarantined product lines of the full extracts, late and out-of-order rows,
    duplicates, rejects). Every night builds what its files reach (elt.scope), without an
    error, and passes the publication audit (no gate blocks normal data); the marts then
    equal a --full-refresh and a rebuild from the files in a new warehouse.
    dbt runs in this process (40 builds: the interpreter start of a subprocess would double
    the test's time)."""
    wh = make_wh("duckdb", tmp_path, None)
    for key, value in dbt_env(tmp_path, "duckdb").items():
        monkeypatch.setenv(key, value)
    # the incremental path, every night: the first nights of a young warehouse are half of
    # raw, which a night would otherwise rebuild (elt.scope's rebuild share)
    monkeypatch.setenv("ELT_REBUILD_SHARE", "0")
    data = tmp_path / "data"
    cfg = GeneratorConfig(scale=0.01)  # `make run`'s defaults: start 2025-01-01, every kind
    generate(data, cfg, days=1)
    for day in range(40):
        if day:
            generate(data, cfg, days=1, cont=True)
        assert wh.load(data).ok, f"day {day + 1}: load failed"
        # the night as `elt daily` runs it: the build covers what the day's files reach
        night, outcome = night_in_process(tmp_path, "duckdb")
        if day:
            assert night.sources, (day + 1, night.reason)
        # and the audit publishes every night of normal data: no gate blocks (issue 25)
        assert outcome.status == "published", (day + 1, outcome.lines)
        assert outcome.review is not None
        assert outcome.review.blocks == [], (day + 1, outcome.lines)
    quarantined_products = wh.sql(
        "select count(*) from raw._elt_quarantine where source_table = 'shop.products'"
    )[0][0]
    assert quarantined_products > 0, "the routine should meet quarantined product lines"
    daily = fingerprints(wh)
    build_in_process(tmp_path, "duckdb", "--full-refresh")
    assert differing(daily, fingerprints(wh)) == []
    drop_warehouse(wh)  # disaster drill: the warehouse is lost, the raw files are kept
    assert wh.load(data).ok
    build_in_process(tmp_path, "duckdb")
    assert differing(daily, fingerprints(wh)) == []


@pytest.mark.slow
@pytest.mark.postgres
def test_daily_one_shot_full_refresh_and_rebuild_agree_on_postgres(
    pg_database: str, tmp_path: Path
) -> None:
    """The same equivalence on PostgreSQL, over fewer days (the DuckDB routine runs 40)."""

    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    cfg = GeneratorConfig(scale=0.03, seed=21, start=MONDAY, drift_date=MONDAY + dt.timedelta(4))
    generate(data, cfg, days=3)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    for _ in range(3):
        generate(data, cfg, days=1, cont=True)
        assert wh.load(data).ok
        build(wh, tmp_path, allow_warnings=True)
    daily = fingerprints(wh)
    build(wh, tmp_path, "--full-refresh", allow_warnings=True)
    assert differing(daily, fingerprints(wh)) == []
    assert differing(daily, _rebuild_from_files(wh, data, tmp_path)) == []


# --- regression tests, on a small clean dataset with hand-made defects --------------------


def _rewrite_csv(path: Path, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    """Rewrite a CSV file of the dataset, row by row."""
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    fields = list(rows[0])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(change(row))
    path.write_text(out.getvalue())


def _day_file(data: Path, table: str, day: dt.date) -> Path:
    (path,) = sorted((data / "shop" / table / day.isoformat()).glob("*.csv"))
    return path


def _load_days(wh: Wh, data: Path, staging: Path, days: list[dt.date]) -> None:
    """Load only the files of these days (the data directory holds every day)."""
    for source in data.rglob("*"):
        if source.is_file() and any(d.isoformat() in str(source) for d in days):
            target = staging / source.relative_to(data)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    assert wh.load(staging).ok


@pytest.mark.slow
def test_findings_of_the_snapshot_design_stay_fixed(wh: Wh, tmp_path: Path) -> None:
    """On clean data with hand-made defects, built day by day:
    1. a product whose line of one full extract is quarantined is not deleted (the daily
       routine used to break on it: a duplicate product_sk from the snapshot);
    4. a line created on another day than its order's placement still joins its order, and
       every fact carries the order header's conformed keys;
    5. lines whose quantity or price do not parse are rejects, not lines with null amounts;
    3. a daily run rewrites only the orders the new day touched, not the history."""
    data = tmp_path / "data"
    days = [MONDAY + dt.timedelta(d) for d in range(4)]
    cfg = GeneratorConfig(
        scale=0.02, seed=7, start=MONDAY, rates=dict.fromkeys(MESS_KINDS, 0.0), drift_date=None
    )
    generate(data, cfg, days=len(days))

    # (1) give product 5's line of the second extract an extra field: the loader quarantines it
    products = _day_file(data, "products", days[1])
    text = "".join(
        line.rstrip("\n") + ",extra\n" if line.startswith("5,") else line
        for line in products.read_text().splitlines(keepends=True)
    )
    products.write_text(text)
    # (4) (5) defects in the first day's order lines
    lines = list(csv.DictReader(io.StringIO(_day_file(data, "order_items", days[0]).read_text())))
    moved, seven, comma = lines[0], lines[3], lines[6]
    moved_day = dt.date.fromisoformat(moved["created_at"][:10]) - dt.timedelta(days=1)

    def damage(row: dict[str, str]) -> dict[str, str]:
        key = (row["order_id"], row["line_number"])
        if key == (moved["order_id"], moved["line_number"]):
            row["created_at"] = f"{moved_day.isoformat()}T23:59:00Z"
        if key == (seven["order_id"], seven["line_number"]):
            row["quantity"] = "seven"
        if key == (comma["order_id"], comma["line_number"]):
            row["unit_price"] = row["unit_price"].replace(".", ",")
        return row

    _rewrite_csv(_day_file(data, "order_items", days[0]), damage)

    staging = tmp_path / "landed"
    _load_days(wh, data, staging, days[:2])
    build(wh, tmp_path)
    before: dict[str, str] = {}
    for day in days[2:]:
        if wh.kind == "postgres":
            before = row_identities(wh, "marts.fct_order_items", "order_item_sk")
        _load_days(wh, data, staging, [day])
        build(wh, tmp_path)

    # 1: the quarantined line did not delete product 5; the build stayed green (above)
    assert wh.sql(
        "select count(*) from raw._elt_quarantine where source_table = 'shop.products'"
    ) == [(1,)]
    assert wh.sql("select count(*) from marts.dim_product where product_id = 5 and is_deleted") == [
        (0,)
    ]
    # 4: the moved line belongs to its order, with the header's keys and time
    (row,) = wh.sql(
        "select i.is_orphan_order, i.customer_sk = o.customer_sk, i.ordered_at = o.ordered_at "
        "from marts.fct_order_items as i inner join marts.fct_orders as o on i.order_id = o.order_id "
        f"where i.order_id = {moved['order_id']} and i.line_number = {moved['line_number']}"
    )
    assert row == (False, True, True)
    for fact in ("fct_order_items", "fct_payments"):
        mismatched = wh.sql(
            f"select count(*) from marts.{fact} as f inner join marts.fct_orders as o "
            "on f.order_id = o.order_id where f.customer_sk != o.customer_sk "
            "or f.geography_sk != o.geography_sk or f.channel_sk != o.channel_sk"
        )
        assert mismatched == [(0,)], fact
    assert wh.sql("select count(*) from marts.fct_payments where order_date_key = -1") == [(0,)]
    # 5: rejects, with file, line, column, value and reason; not counted as lines
    rejects = wh.sql(
        "select rejected_column, rejected_value, reject_reason, source_row_number "
        "from marts.rpt_rejected_rows order by rejected_column"
    )
    assert [r[:3] for r in rejects] == [
        ("quantity", "seven", "quantity is not a whole number"),
        ("unit_price", comma["unit_price"].replace(".", ","), "unit_price is not a decimal number"),
    ]
    assert {r[3] for r in rejects} == {5, 8}  # physical lines: header is line 1
    for bad in (seven, comma):
        key = f"order_id = {bad['order_id']} and line_number = {bad['line_number']}"
        assert wh.sql(f"select count(*) from marts.fct_order_items where {key}") == [(0,)]
    assert wh.sql("select count(*) from marts.fct_order_items where net_revenue is null") == [(0,)]
    assert wh.sql(
        "select sum(rows_rejected) from marts.rpt_pipeline_health where source_table = 'shop.order_items'"
    ) == [(2,)]
    # 3: the last daily run rewrote only lines of orders its files touched (PostgreSQL: a
    # rewritten row has a new xmin; DuckDB renumbers row ids when it compacts deletions)
    if wh.kind != "postgres":
        return
    after = row_identities(wh, "marts.fct_order_items", "order_item_sk")
    rewritten = {k for k, v in after.items() if before.get(k) != v}
    touched = {
        str(r[0])
        for r in wh.sql(
            "select i.order_item_sk from marts.fct_order_items as i "
            f"where i.order_id in (select cast(order_id as bigint) from {wh.raw('shop__orders')} "
            f"where _source_file like '%{days[-1].isoformat()}%' union all "
            f"select cast(order_id as bigint) from {wh.raw('shop__order_items')} "
            f"where _source_file like '%{days[-1].isoformat()}%')"
        )
    }
    assert rewritten, "the last day should add or change lines"
    assert rewritten <= touched
    assert len(rewritten) < len(after) / 2


@pytest.mark.slow
def test_missing_fx_rates_are_null_flagged_and_counted_never_zero(wh: Wh, tmp_path: Path) -> None:
    """6. Orders placed before the first FX rate (the data starts on a Saturday; rates are
    published on business days) have no US dollar value: null and flagged in the facts,
    shown in the order currency in the report, a warning in the build, and an error above
    var('fx_missing_line_share_error')."""
    data = tmp_path / "data"
    saturday = dt.date(2025, 3, 1)
    cfg = GeneratorConfig(
        scale=0.01,
        seed=3,
        start=saturday,
        rates=dict.fromkeys(MESS_KINDS, 0.0),
        fx_history_days=0,  # a feed without history: the weekend's orders have no rate
    )
    generate(data, cfg, days=4)
    assert wh.load(data).ok
    failed = dbt(tmp_path, wh.kind, "build", database=wh.env.get("ELT_PG_DATABASE"))
    assert failed.returncode == 1
    assert "FAIL 1 assert_revenue_missing_fx_below_threshold" in failed.stdout
    results = build(wh, tmp_path, "--vars", "{fx_missing_line_share_error: 1}", allow_warnings=True)
    warned = {r["unique_id"].split(".")[2] for r in results["results"] if r["status"] == "warn"}
    assert "assert_revenue_has_fx_rates" in warned
    (lines,) = wh.sql(
        "select count(*), count(net_revenue_usd), sum(case when order_date < '2025-03-03' then 1 else 0 end) "
        "from marts.fct_order_items where is_missing_fx_rate"
    )
    missing, converted, before_first_rate = lines
    assert missing > 0
    assert converted == 0
    assert before_first_rate == missing
    weekend = wh.sql(
        "select count(*), count(net_revenue_usd), sum(missing_fx_net_revenue), "
        "sum(case when has_missing_fx_rate then 1 else 0 end) "
        "from marts.rpt_daily_sales where order_date < '2025-03-03' and currency_code != 'USD'"
    )[0]
    rows, rows_in_usd, unconverted_revenue, flagged = weekend
    assert rows > 0
    assert rows_in_usd == 0
    assert unconverted_revenue > 0
    assert flagged == rows
    # US dollar orders need no rate
    assert wh.sql(
        "select count(*) from marts.fct_order_items where currency_code = 'USD' and is_missing_fx_rate"
    ) == [(0,)]


@pytest.mark.slow
@pytest.mark.postgres
def test_models_wait_for_a_running_load_and_raw_is_indexed_on_loaded_at(
    pg_database: str, tmp_path: Path
) -> None:
    """PostgreSQL: a model never reads a load half done (its watermark would skip the rest):
    while `elt load` holds its lock, dbt's models wait. And the filter on `_loaded_at`, the
    incremental models' watermark, is served by an index the loader creates."""

    wh = make_wh("postgres", tmp_path, pg_database)
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.01, seed=2, start=MONDAY), days=2)
    assert wh.load(data).ok
    build(wh, tmp_path)
    indexed = wh.sql(
        "select tablename from pg_indexes where schemaname = 'raw' "
        "and indexdef ilike '%using brin (_loaded_at)%'"
    )
    assert {r[0] for r in indexed} >= {"shop__orders", "shop__order_items", "payments__payments"}

    s = pg_settings()
    holder = psycopg2.connect(dbname=pg_database, **s)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", [LOCK_KEY])  # as a running elt load does

    env = dbt_env(tmp_path, "postgres", pg_database)
    run = subprocess.Popen(
        [DBT, "run", "--select", "int_orders_merged", "--project-dir", str(REPO)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        waiting = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            with holder.cursor() as cur:
                cur.execute(
                    "select count(*) from pg_locks where locktype = 'advisory' and not granted "
                    "and database = (select oid from pg_database where datname = current_database())"
                )
                row = cur.fetchone()
            if row and row[0]:
                waiting = True
                break
            time.sleep(0.2)
        assert waiting, "the model should wait for the loader's lock"
        assert run.poll() is None
    finally:
        with holder.cursor() as cur:
            cur.execute("select pg_advisory_unlock(%s)", [LOCK_KEY])
        holder.close()
    out, _ = run.communicate(timeout=300)
    assert run.returncode == 0, out[-3000:]
