"""The audit trail of published figures (elt.publish.trail): which rows a publication appends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb

from elt.publish import trail
from elt.publish.diff import Diff, MartDiff

D1, D2, D3 = dt.date(2025, 3, 3), dt.date(2025, 3, 4), dt.date(2025, 3, 5)


def _diff(series: dict[dt.date | None, tuple[float | None, float | None]]) -> Diff:
    mart = MartDiff("rpt_daily_sales", ["id"], 0, 0, 0, 0, 0, 0, None, {}, [], [], [])
    mart.series = {
        ("net_revenue_usd", "", ""): series,
        # a segment's figures stay out of the trail: it keeps each day's totals
        ("net_revenue_usd", "region", "EU"): {D1: (None, 1.0)},
    }
    return Diff(None, [mart])


def _publish(con: duckdb.DuckDBPyConnection, number: int, diff: Diff) -> list[tuple[object, ...]]:
    relation = f"publish.{trail.TABLE}"
    found = trail.changes(
        trail.candidate_figures(diff), con.execute(trail.latest_sql(relation)).fetchall()
    )
    appended = trail.rows(number, f"2026-12-0{number}T02:00:00+00:00", found)
    if appended:
        con.execute(f"insert into {relation} values {trail.values_sql(appended, trail.DUCKDB)}")
    return [(r[0], r[4], r[5], r[6]) for r in appended]


def test_each_publication_appends_the_figures_that_differ_from_the_trails_latest() -> None:
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("create schema publish")
    con.execute(trail.create_sql(f"publish.{trail.TABLE}", trail.DUCKDB))
    first = _publish(con, 1, _diff({D1: (None, 100.5), D2: (None, 200.25), None: (None, 3.0)}))
    assert first == [(1, D1, Decimal("100.5000"), None), (1, D2, Decimal("200.2500"), None)]
    # a new day, a restated day, an unchanged day: two rows
    second = _publish(con, 2, _diff({D1: (100.5, 100.5), D2: (200.25, 210.0), D3: (None, 50.0)}))
    assert second == [
        (2, D2, Decimal("210.0000"), Decimal("200.2500")),
        (2, D3, Decimal("50.0000"), None),
    ]
    # a day gone from the mart: a null figure, once
    assert _publish(con, 3, _diff({D2: (210.0, 210.0), D3: (50.0, 50.0)})) == [
        (3, D1, None, Decimal("100.5000"))
    ]
    assert _publish(con, 4, _diff({D2: (210.0, 210.0), D3: (50.0, 50.0)})) == []
    # what version 2 showed: the latest row of each day at or before it
    shown = con.execute(
        "select business_day, value from (select t.*, row_number() over (partition by mart,"
        f" total, business_day order by version desc) as nth from publish.{trail.TABLE} as t"
        " where version <= 2) where nth = 1 and value is not null order by 1"
    ).fetchall()
    assert shown == [(D1, Decimal("100.5")), (D2, Decimal("210")), (D3, Decimal("50"))]
    published_at = con.execute(f"select min(published_at) from publish.{trail.TABLE}").fetchone()
    assert published_at is not None
    assert published_at[0] == dt.datetime(2026, 12, 1, 2, tzinfo=dt.UTC)
