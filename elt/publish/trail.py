"""The audit trail of published figures: what analysts were shown, day by day, at each
publication, kept append-only in ``<prefix>publish.published_daily_totals`` on every engine.

Each publication appends one row per (mart, total, business day) whose figure differs from
the trail's latest for it: every day at the first publication, then the new days and the
restated ones (and a removed day, with a null figure). The figures are the audit's own: the
daily totals each mart declares in ``meta.audit.totals`` (``elt.publish.spec``), as the diff
computed them on the candidate. What version N showed for a day is the trail's latest row
for it at or before N:

    select * from (
        select t.*, row_number() over (
            partition by mart, total, business_day order by version desc) as nth
        from publish.published_daily_totals as t where version <= 42) as latest
    where nth = 1 and value is not null

Nothing is ever updated or deleted (no MERGE is needed, so Spark's Parquet keeps it too); a
rollback changes what analysts read without a row (its record is the publisher's
``current``), and the next publication's rows are again against the trail's latest figures.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from elt.errors import LoaderError
from elt.publish.diff import Diff

TABLE = "published_daily_totals"
SCALE = Decimal("0.0001")  # decimal(38, 4)


@dataclasses.dataclass(frozen=True)
class Figure:
    mart: str
    total: str
    business_day: dt.date
    value: Decimal | None  # None: the day is gone from the mart


@dataclasses.dataclass(frozen=True)
class Dialect:
    """An engine's spelling of the trail's column types."""

    integer: str = "integer"
    text: str = "varchar"
    timestamp: str = "timestamp with time zone"
    table_suffix: str = ""  # Spark: using parquet


DUCKDB = Dialect()
POSTGRES = Dialect(text="text")
SPARK = Dialect(integer="int", text="string", timestamp="timestamp", table_suffix=" using parquet")


def create_sql(relation: str, dialect: Dialect) -> str:
    return (
        f"create table if not exists {relation} (version {dialect.integer}, "
        f"published_at {dialect.timestamp}, mart {dialect.text}, total {dialect.text}, "
        f"business_day date, value decimal(38, 4), previous_value decimal(38, 4))"
        + dialect.table_suffix
    )


def latest_sql(relation: str) -> str:
    """The trail's latest figure of each mart, total and day."""
    return (
        "select mart, total, business_day, value from ("
        " select mart, total, business_day, value, row_number() over ("
        "  partition by mart, total, business_day order by version desc) as nth"
        f" from {relation}) as latest where nth = 1"
    )


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(SCALE)


def candidate_figures(diff: Diff) -> list[Figure]:
    """Every declared total of every mart on every business day, as the candidate has it."""
    figures = []
    for mart in diff.marts:
        for (total, segment, _), by_day in sorted(mart.series.items()):
            if segment:
                continue  # the trail keeps each day's totals, not their segments
            for day, (_, value) in by_day.items():
                if value is not None and day is not None:
                    figures.append(Figure(mart.mart, total, day, _decimal(value)))
    return figures


def changes(
    figures: Iterable[Figure], latest: Iterable[tuple[object, ...]]
) -> list[tuple[Figure, Decimal | None]]:
    """The figures that differ from the trail's latest (with that latest), and the days the
    trail has a figure for that are gone (a null figure) - for the marts ``figures`` covers."""
    last: dict[tuple[str, str, dt.date], Decimal | None] = {}
    for mart, total, day, value in latest:
        last[(str(mart), str(total), _date(day))] = (
            None if value is None else Decimal(str(value)).quantize(SCALE)
        )
    now = {(f.mart, f.total, f.business_day): f for f in figures}
    found = [
        (f, last.get(key)) for key, f in now.items() if key not in last or last[key] != f.value
    ]
    covered = {(f.mart, f.total) for f in now.values()}
    found += [
        (Figure(mart, total, day, None), value)
        for (mart, total, day), value in last.items()
        if value is not None and (mart, total) in covered and (mart, total, day) not in now
    ]
    return sorted(found, key=lambda c: (c[0].mart, c[0].total, c[0].business_day))


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def rows(
    number: int, published_at: str, found: list[tuple[Figure, Decimal | None]]
) -> list[tuple[object, ...]]:
    """The rows to append, in the table's column order."""
    when = dt.datetime.fromisoformat(published_at)
    return [
        (number, when, f.mart, f.total, f.business_day, f.value, previous) for f, previous in found
    ]


def values_sql(appended: list[tuple[object, ...]], dialect: Dialect) -> str:
    """The rows as a VALUES list of literals (Spark has no bound parameters here)."""

    def literal(value: object) -> str:
        if value is None:
            return "null"
        if isinstance(value, dt.datetime):
            return f"cast('{value.isoformat()}' as {dialect.timestamp})"
        if isinstance(value, dt.date):
            return f"date '{value.isoformat()}'"
        if isinstance(value, Decimal):
            return f"cast({value} as decimal(38, 4))"
        if isinstance(value, int):
            return str(value)
        text = str(value)
        if "'" in text or "\\" in text:  # the names are dbt identifiers; Spark escapes otherwise
            raise LoaderError(f"the audit trail cannot record the name {text!r}")
        return f"'{text}'"

    return ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in appended)
