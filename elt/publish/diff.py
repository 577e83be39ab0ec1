"""The diff of a candidate build against a published version, computed in the warehouse.

Per mart, by its key: rows added, removed and changed, how many rows each column changed in,
and (for marts that declare a business date) the same per business day, so the rows of days
older than the incremental window ("restated history") are counted apart. For marts that
declare totals (``meta.audit.totals``), the totals per business day (and per segment) on both
sides, from which the gates (``elt.publish.gates``) judge the new and changed days.

The SQL is plain (full outer join, ``is distinct from``, ``case``), the same on DuckDB,
PostgreSQL and Spark; only the relation names differ, and the caller gives them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from elt.publish.spec import METADATA_COLUMNS, MartSpec

Day = dt.date | None
# (metric, segment column or "", segment value or "") -> day -> (published, candidate)
Series = dict[tuple[str, str, str], dict[Day, tuple[float | None, float | None]]]


class Warehouse(Protocol):
    """Runs the diff's statements where the two sides live (DuckDB, PostgreSQL, Spark)."""

    text_type: str  # the SQL type segment values are cast to

    def query(self, statement: str) -> list[tuple[Any, ...]]: ...

    def columns(self, relation: str) -> list[str]: ...

    # an identifier: "x" on DuckDB and PostgreSQL, `x` on Spark
    def quote(self, name: str) -> str: ...

    # a hash of the row's columns, as SQL: rows whose hashes differ are compared column by column
    def row_hash(self, alias: str, columns: Sequence[str]) -> str: ...

    # an aggregate collecting an expression's values into a list (a Python list when fetched)
    def collect(self, expression: str) -> str: ...

    # an expression of a key column that joins faster than the column (None: the column)
    def join_key(self, alias: str, column: str) -> str | None: ...


@dataclasses.dataclass
class DayRows:
    day: Day
    published: int
    candidate: int
    added: int
    removed: int
    changed: int

    @property
    def touched(self) -> int:
        return self.added + self.removed + self.changed


@dataclasses.dataclass
class MartDiff:
    mart: str
    key: list[str]
    published_rows: int
    candidate_rows: int
    added: int
    removed: int
    changed: int
    restated_rows: int  # added, removed or changed rows of days before restated_before
    restated_before: str | None  # the newest business day minus restated_after_days
    columns_changed: dict[str, int]  # column -> rows it changed in
    columns_added: list[str]
    columns_removed: list[str]
    days: list[DayRows]
    series: Series = dataclasses.field(default_factory=dict, repr=False)
    seconds: float = 0.0

    @property
    def is_new(self) -> bool:
        return self.published_rows == 0 and not self.days

    def changed_days(self) -> list[Day]:
        return [d.day for d in self.days if d.touched]

    def totals_of_changed_days(self) -> list[dict[str, Any]]:
        """Each declared total on every day whose rows changed: published, candidate, delta."""
        days = set(self.changed_days())
        out = []
        for (metric, segment, _value), by_day in sorted(self.series.items()):
            if segment:
                continue
            for day in sorted(d for d in by_day if d in days and d is not None):
                before, after = by_day[day]
                out.append(
                    {
                        "day": day.isoformat(),
                        "metric": metric,
                        "published": before,
                        "candidate": after,
                        "delta": (after or 0) - (before or 0),
                    }
                )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "mart": self.mart,
            "key": self.key,
            "published_rows": self.published_rows,
            "candidate_rows": self.candidate_rows,
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed,
            "restated_rows": self.restated_rows,
            "restated_before": self.restated_before,
            "columns_changed": self.columns_changed,
            "columns_added": self.columns_added,
            "columns_removed": self.columns_removed,
            "days_changed": len(self.changed_days()),
            "totals": self.totals_of_changed_days(),
            "seconds": round(self.seconds, 3),
        }


@dataclasses.dataclass
class Diff:
    against: int | None  # the published version compared with; None: nothing published yet
    marts: list[MartDiff]
    seconds: float = 0.0

    def mart(self, name: str) -> MartDiff | None:
        return next((m for m in self.marts if m.mart == name), None)

    def as_json(self) -> dict[str, Any]:
        return {
            "against": self.against,
            "seconds": round(self.seconds, 3),
            "marts": [m.as_json() for m in self.marts],
        }

    def summary(self) -> str:
        """One line: what changes for analysts."""
        if self.against is None:
            rows = sum(m.candidate_rows for m in self.marts)
            return f"first publication: {rows:,} rows in {len(self.marts)} marts"
        moved = [m for m in self.marts if m.added or m.removed or m.changed]
        parts = [
            f"{m.mart} +{m.added:,} -{m.removed:,} ~{m.changed:,}"
            + (f" (restated {m.restated_rows:,})" if m.restated_rows else "")
            for m in moved
        ]
        head = f"against v{self.against:06d}: {len(moved)} of {len(self.marts)} marts change"
        return head + (": " + "; ".join(parts) if parts else "")

    def markdown(self) -> str:
        return markdown_of(self.as_json())


def markdown_of(data: dict[str, Any]) -> str:
    """A diff's JSON (``Diff.as_json``) as Markdown: a table of marts, then the totals of
    the changed days."""
    against = f"v{data['against']:06d}" if data.get("against") is not None else "nothing (first)"
    lines = [
        f"### Diff against {against}",
        "",
        "| mart | rows before | rows after | added | removed | changed | restated | columns changed |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for m in data.get("marts", []):
        cols = ", ".join(f"{c} {n:,}" for c, n in sorted(m["columns_changed"].items()) if n)
        lines.append(
            f"| {m['mart']} | {m['published_rows']:,} | {m['candidate_rows']:,} | {m['added']:,} | "
            f"{m['removed']:,} | {m['changed']:,} | {m['restated_rows']:,} | {cols or '-'} |"
        )
    totals = [(m["mart"], t) for m in data.get("marts", []) for t in m.get("totals", [])]
    if totals:
        lines += [
            "",
            "| mart | day | total | published | candidate | delta |",
            "|---|---|---|---:|---:|---:|",
        ]
        for mart, t in totals:
            lines.append(
                f"| {mart} | {t['day']} | {t['metric']} | {_num(t['published'])} | "
                f"{_num(t['candidate'])} | {_num(t['delta'])} |"
            )
    return "\n".join(lines) + "\n"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def double_quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _day(value: Any) -> Day:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _hashed(
    relation: str,
    key: Sequence[str],
    row_hash: str,
    day: str,
    quote: Callable[[str], str],
    join_key: str | None = None,
) -> str:
    keys = ", ".join(f"t.{quote(k)}" for k in key)
    joined = f", {join_key} as elt__key" if join_key else ""
    return f"select {day} as elt__day, {keys}, {row_hash} as elt__hash{joined} from {relation} as t"


def presence_sql(
    candidate: str,
    published: str,
    key: Sequence[str],
    day: str,
    hashes: tuple[str, str],
    quote: Callable[[str], str] = double_quoted,
    collect: Callable[[str], str] | None = None,
    join_key: str | None = None,
) -> str:
    """Pass one, narrow (the key, the day and a hash of the compared columns on each side):
    per business day, rows on each side, added, removed, rows whose hash differs, and (with
    ``collect``, an aggregate into a list) the keys of those rows. ``join_key``: an
    expression of the key to join on instead (a 64-bit hash joins faster than text)."""
    on = (
        "c.elt__key = p.elt__key"
        if join_key
        else " and ".join(f"c.{quote(k)} = p.{quote(k)}" for k in key)
    )
    first = quote(key[0])
    differs = f"c.{first} is not null and p.{first} is not null and c.elt__hash <> p.elt__hash"
    keys = f", {collect(f'c.{first}')} filter (where {differs})" if collect else ""
    return (
        f"with c as ({_hashed(candidate, key, hashes[0], day, quote, join_key)}),\n"
        f"p as ({_hashed(published, key, hashes[1], day, quote, join_key)})\n"
        "select coalesce(c.elt__day, p.elt__day) as business_day,"
        f" sum(case when p.{first} is not null then 1 else 0 end),"
        f" sum(case when c.{first} is not null then 1 else 0 end),"
        f" sum(case when p.{first} is null then 1 else 0 end),"
        f" sum(case when c.{first} is null then 1 else 0 end),"
        f" sum(case when {differs} then 1 else 0 end){keys}"
        f" from c full outer join p on {on} group by 1"
    )


MAX_LISTED_KEYS = 2_000  # more changed rows than this: pass two finds them again itself


def _literal(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def changes_sql(
    candidate: str,
    published: str,
    key: Sequence[str],
    compared: Sequence[str],
    day: str,
    hashes: tuple[str, str],
    quote: Callable[[str], str] = double_quoted,
    listed: Sequence[str] | None = None,
) -> str:
    """Pass two, only over the rows whose hash differs (``listed``: their keys as SQL
    literals, from pass one; else found again here): per business day, the rows that
    changed and, per compared column, the rows it changed in."""
    on = " and ".join(f"c.{quote(k)} = p.{quote(k)}" for k in key)
    same = " and ".join(f"t.{quote(k)} = changed.{quote(k)}" for k in key)
    flags = [
        f"case when c.{quote(col)} is distinct from p.{quote(col)} then 1 else 0 end"
        for col in compared
    ]
    keys = ", ".join(f"c.{quote(k)}" for k in key)
    changed = (
        f"select {keys} from ({_hashed(candidate, key, hashes[0], day, quote)}) as c"
        f" inner join ({_hashed(published, key, hashes[1], day, quote)}) as p on {on}"
        " where c.elt__hash <> p.elt__hash"
    )

    def only(relation: str) -> str:
        if listed is not None:
            return (
                f"select {day} as elt__day, t.* from {relation} as t"
                f" where t.{quote(key[0])} in ({', '.join(listed)})"
            )
        return (
            f"select {day} as elt__day, t.* from {relation} as t"
            f" where exists (select 1 from changed where {same})"
        )

    any_change = " + ".join(flags) or "0"
    head = "with " if listed is not None else f"with changed as ({changed}),\n"
    return (
        f"{head}c as ({only(candidate)}),\np as ({only(published)})\n"
        f"select c.elt__day, sum(case when ({any_change}) > 0 then 1 else 0 end)"
        + "".join(f", sum({f})" for f in flags)
        + f" from c inner join p on {on} group by 1"
    )


def totals_sql(
    relation: str,
    spec: MartSpec,
    segment: str | None,
    text_type: str,
    quote: Callable[[str], str] = double_quoted,
) -> str:
    measures = ", ".join(t.expression for t in spec.totals)
    if segment is None:
        return f"select {spec.business_date}, {measures} from {relation} as t group by 1"
    seg = f"coalesce(cast({quote(segment)} as {text_type}), '(none)')"
    return f"select {spec.business_date}, {seg}, {measures} from {relation} as t group by 1, 2"


def _series(warehouse: Warehouse, spec: MartSpec, candidate: str, published: str | None) -> Series:
    series: Series = {}
    for segment in (None, *spec.segments):
        for side, relation in ((1, candidate), (0, published)):
            if relation is None:
                continue
            statement = totals_sql(relation, spec, segment, warehouse.text_type, warehouse.quote)
            for row in warehouse.query(statement):
                day = _day(row[0])
                value = "" if segment is None else str(row[1])
                values = row[1:] if segment is None else row[2:]
                for total, raw in zip(spec.totals, values, strict=True):
                    slot = series.setdefault((total.name, segment or "", value), {})
                    before, after = slot.get(day, (None, None))
                    slot[day] = (before, _float(raw)) if side else (_float(raw), after)
    return series


def diff_mart(
    warehouse: Warehouse, spec: MartSpec, candidate: str, published: str | None
) -> MartDiff:
    began = time.monotonic()
    cand_cols = warehouse.columns(candidate)
    day_expr = spec.business_date or "cast(null as date)"
    if published is None:
        rows = warehouse.query(f"select count(*) from {candidate}")
        n = int(rows[0][0]) if rows else 0
        result = MartDiff(spec.name, list(spec.key), 0, n, n, 0, 0, 0, None, {}, cand_cols, [], [])
        result.series = _series(warehouse, spec, candidate, None) if spec.totals else {}
        result.seconds = time.monotonic() - began
        return result
    pub_cols = warehouse.columns(published)
    compared = [
        c for c in cand_cols if c in pub_cols and c not in spec.key and c not in METADATA_COLUMNS
    ]
    days: list[DayRows] = []
    columns_changed = dict.fromkeys(compared, 0)
    if spec.key and all(k in cand_cols and k in pub_cols for k in spec.key):
        quote = warehouse.quote
        hashes = (warehouse.row_hash("t", compared), warehouse.row_hash("t", compared))
        single = len(spec.key) == 1
        statement = presence_sql(
            candidate,
            published,
            spec.key,
            day_expr,
            hashes,
            quote,
            warehouse.collect if single else None,
            warehouse.join_key("t", spec.key[0]) if single else None,
        )
        maybe, listed = 0, []
        for row in warehouse.query(statement):
            published_n, candidate_n, added, removed = (int(v or 0) for v in row[1:5])
            days.append(DayRows(_day(row[0]), published_n, candidate_n, added, removed, 0))
            maybe += int(row[5] or 0)
            listed += list(row[6] or []) if single else []
        if maybe:
            literals = [_literal(k) for k in listed]
            limit = int(getattr(warehouse, "max_listed_keys", MAX_LISTED_KEYS))
            usable = single and len(literals) <= limit and all(x is not None for x in literals)
            statement = changes_sql(
                candidate,
                published,
                spec.key,
                compared,
                day_expr,
                hashes,
                quote,
                [x for x in literals if x is not None] if usable else None,
            )
            by_day = {d.day: d for d in days}
            for row in warehouse.query(statement):
                by_day[_day(row[0])].changed = int(row[1] or 0)
                for col, n in zip(compared, row[2:], strict=True):
                    columns_changed[col] += int(n or 0)
    else:  # no key: rows counted only
        before = warehouse.query(f"select count(*) from {published}")[0][0]
        after = warehouse.query(f"select count(*) from {candidate}")[0][0]
        days.append(DayRows(None, int(before), int(after), 0, 0, 0))
    newest = max((d.day for d in days if d.day is not None and d.candidate), default=None)
    cutoff = (
        newest - dt.timedelta(days=spec.gates.restated_after_days)
        if newest is not None and spec.business_date
        else None
    )
    restated = sum(d.touched for d in days if cutoff and d.day is not None and d.day < cutoff)
    result = MartDiff(
        mart=spec.name,
        key=list(spec.key),
        published_rows=sum(d.published for d in days),
        candidate_rows=sum(d.candidate for d in days),
        added=sum(d.added for d in days),
        removed=sum(d.removed for d in days),
        changed=sum(d.changed for d in days),
        restated_rows=restated,
        restated_before=cutoff.isoformat() if cutoff else None,
        columns_changed=columns_changed,
        columns_added=[c for c in cand_cols if c not in pub_cols],
        columns_removed=[c for c in pub_cols if c not in cand_cols],
        days=sorted(days, key=lambda d: (d.day is None, d.day or dt.date.min)),
    )
    result.series = _series(warehouse, spec, candidate, published) if spec.totals else {}
    result.seconds = time.monotonic() - began
    return result


def diff(
    warehouse: Warehouse,
    specs: Sequence[MartSpec],
    candidate: Callable[[str], str],
    published: Callable[[str], str | None],
    against: int | None,
) -> Diff:
    """Every mart of ``specs``: ``candidate(name)`` and ``published(name)`` give the two
    relations (``published`` None when the version has no such mart)."""
    began = time.monotonic()
    marts = [
        diff_mart(warehouse, spec, candidate(spec.name), published(spec.name) if against else None)
        for spec in specs
    ]
    return Diff(against, marts, time.monotonic() - began)
