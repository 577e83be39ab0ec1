"""The audit's gates: does a candidate's numbers look like the published history?

- **anomaly**: each new or changed business day's totals, per metric and per segment, against
  the published history of the same weekday (median and MAD, trailing weeks); flagged when
  the value is both ``ratio`` times off the median and ``mad`` robust deviations away, and
  by more than the metric's floor.
- **restated**: days older than the incremental window whose totals changed, per month,
  against the published month.
- **volume**: per source table, the files the candidate's new loads brought: a table that
  must come with every load but did not (a reloaded file is a restatement, not a load the
  others must come with), a file whose rows are far off the table's usual rows per file,
  and a file whose content was loaded before under another name.

Each finding names its check (what ``elt publish --accept`` takes), the mart or source,
the metric, the segment, the day, the value and the baseline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any

from elt.publish.diff import Day, Diff, MartDiff
from elt.publish.spec import Band, Gates, MartSpec, SourceSpec

BLOCK, WARN = "block", "warn"


@dataclasses.dataclass(frozen=True)
class Finding:
    check: str  # kind:subject.metric, e.g. anomaly:fct_order_items.net_revenue_usd
    severity: str  # block | warn
    subject: str  # the mart or the source table
    metric: str
    segment: str  # "all", or column=value
    day: str  # the business day, month or load it is about
    value: float | None
    baseline: float | None
    message: str
    low: float | None = None  # the normal band (anomaly), for the page's charts
    high: float | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        values: dict[str, Any] = {f.name: data.get(f.name) for f in dataclasses.fields(cls)}
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class LoadedFile:
    source_table: str
    path: str
    content_hash: str
    rows: int
    batch_id: str
    is_new: bool  # loaded after the compared version's last load
    is_restatement: bool = False  # a reload (elt load --reload) of a file loaded before


@dataclasses.dataclass(frozen=True)
class Baseline:
    median: float
    sigma: float  # 1.4826 x MAD
    points: int
    same_weekday: bool

    def band(self, band: Band, floor: float) -> tuple[float, float]:
        spread = max(band.mad * self.sigma, floor)
        low = min(self.median / band.ratio, self.median - spread)
        return (
            max(low, 0.0) if self.median >= 0 else low,
            max(self.median * band.ratio, self.median + spread),
        )

    def flags(self, value: float, band: Band, floor: float) -> bool:
        deviation = abs(value - self.median)
        if deviation <= max(band.mad * self.sigma, floor):
            return False
        return value > self.median * band.ratio or value < self.median / band.ratio


def baseline(history: dict[Day, float], day: dt.date, gates: Gates) -> Baseline | None:
    """The published values before ``day``: the same weekday over the trailing weeks, or the
    trailing 28 days when too few; None when even those are too few."""
    weeks = [day - dt.timedelta(days=7 * w) for w in range(1, gates.baseline_weeks + 1)]
    same = [history[d] for d in weeks if d in history]
    values, same_weekday = same, True
    if len(values) < gates.min_baseline_days:
        recent = [day - dt.timedelta(days=n) for n in range(1, 29)]
        values, same_weekday = [history[d] for d in recent if d in history], False
    if len(values) < gates.min_baseline_days:
        return None
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    return Baseline(median, 1.4826 * mad, len(values), same_weekday)


def _published_history(
    by_day: dict[Day, tuple[float | None, float | None]], first: dt.date, last: dt.date
) -> dict[Day, float]:
    """Published values per day, zero on the days of the published range with no rows."""
    out: dict[Day, float] = {}
    day = first
    while day <= last:
        before = by_day.get(day, (None, None))[0]
        out[day] = before or 0.0
        day += dt.timedelta(days=1)
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def anomalies(mart: MartDiff, spec: MartSpec) -> list[Finding]:
    if not spec.totals or not mart.series:
        return []
    gates = spec.gates
    floors = {t.name: t.floor for t in spec.totals}
    first_total = spec.totals[0].name
    published_days = [
        d
        for d, (before, _) in mart.series.get((first_total, "", ""), {}).items()
        if d is not None and before is not None
    ]
    if not published_days:
        return []
    first, last = min(published_days), max(published_days)
    cutoff = dt.date.fromisoformat(mart.restated_before) if mart.restated_before else None
    checked = [d for d in mart.changed_days() if d is not None and (cutoff is None or d >= cutoff)]
    findings = []
    # the whole day's baseline per metric: a segment's deviation counts only when it is
    # material for the day (small segments are noisy; a real error moves the day too)
    whole: dict[tuple[str, dt.date], Baseline | None] = {}
    for (metric, segment, _), by_day in mart.series.items():
        if not segment:
            history = _published_history(by_day, first, last)
            for day in checked:
                whole[(metric, day)] = baseline(history, day, gates)
    for (metric, segment, value), by_day in sorted(mart.series.items()):
        history = _published_history(by_day, first, last)
        for day in checked:
            base = baseline(history, day, gates)
            if base is None:
                continue
            current = by_day.get(day, (None, None))[1] or 0.0
            floor = floors[metric]
            day_base = whole.get((metric, day))
            if segment and day_base is not None:
                floor = max(floor, gates.warn.mad * day_base.sigma)
            severity = None
            for name, band in ((BLOCK, gates.block), (WARN, gates.warn)):
                material = (
                    not segment
                    or day_base is None
                    or abs(current - base.median) > band.mad * day_base.sigma
                )
                if material and base.flags(current, band, floor):
                    severity = name
                    break
            if severity is None:
                continue
            low, high = base.band(gates.warn, floor)
            seg = f"{segment}={value}" if segment else "all"
            what = f"{day:%A}s" if base.same_weekday else "days"
            times = current / base.median if base.median else float("inf")
            findings.append(
                Finding(
                    check=f"anomaly:{mart.mart}.{metric}",
                    severity=severity,
                    subject=mart.mart,
                    metric=metric,
                    segment=seg,
                    day=day.isoformat(),
                    value=current,
                    baseline=base.median,
                    low=low,
                    high=high,
                    message=(
                        f"{mart.mart}.{metric} [{seg}] on {day.isoformat()} ({day:%a}): "
                        f"{_fmt(current)} against a baseline of {_fmt(base.median)} (median of "
                        f"{base.points} published {what}; normal {_fmt(low)} to {_fmt(high)}; "
                        f"x{times:,.1f})"
                    ),
                )
            )
    return findings


def restatements(mart: MartDiff, spec: MartSpec) -> list[Finding]:
    """Days older than the incremental window whose totals changed, summed per month,
    against the published month."""
    if not spec.totals or not mart.restated_before or not mart.restated_rows:
        return []
    cutoff = dt.date.fromisoformat(mart.restated_before)
    old = {d for d in mart.changed_days() if d is not None and d < cutoff}
    gates = spec.gates
    findings = []
    for total in spec.totals:
        months: dict[str, tuple[float, float]] = {}  # month -> (delta, published month)
        for day, (before, after) in mart.series.get((total.name, "", ""), {}).items():
            if day is None:
                continue
            delta, published = months.get(day.strftime("%Y-%m"), (0.0, 0.0))
            if day in old:
                delta += (after or 0.0) - (before or 0.0)
            months[day.strftime("%Y-%m")] = (delta, published + (before or 0.0))
        for month, (delta, published) in sorted(months.items()):
            if not delta or abs(delta) < total.floor:
                continue
            share = abs(delta) / abs(published) if published else float("inf")
            if share >= gates.restated_block:
                severity = BLOCK
            elif share >= gates.restated_warn:
                severity = WARN
            else:
                continue
            change = f"{delta / published:+.1%}" if published else "nothing published before"
            findings.append(
                Finding(
                    check=f"restated:{mart.mart}.{total.name}",
                    severity=severity,
                    subject=mart.mart,
                    metric=total.name,
                    segment="all",
                    day=month,
                    value=published + delta,
                    baseline=published,
                    message=(
                        f"{mart.mart}.{total.name} of {month} restated: {_fmt(published + delta)} "
                        f"against the published {_fmt(published)} ({change}, on days before "
                        f"{mart.restated_before}, older than the incremental window)"
                    ),
                )
            )
    return findings


def volumes(
    files: Sequence[LoadedFile], sources: Sequence[SourceSpec], against: str
) -> list[Finding]:
    """The new loads' files per source table against the files loaded before them."""
    new = [f for f in files if f.is_new]
    if not new:
        return []
    findings = []
    # a corrected file reloaded is no arrival: a night of restatements alone brings no load
    # the other sources must come with
    arrived = {f.source_table for f in new if not f.is_restatement}
    for spec in sources:
        older = sorted(
            (f for f in files if f.source_table == spec.name and not f.is_new),
            key=lambda f: (f.batch_id, f.path),
            reverse=True,
        )[: spec.baseline_files]
        usual = statistics.median(f.rows for f in older) if older else None
        if spec.every_load and arrived and spec.name not in arrived:
            findings.append(
                Finding(
                    check=f"volume:{spec.name}",
                    severity=BLOCK,
                    subject=spec.name,
                    metric="files",
                    segment="all",
                    day=against,
                    value=0,
                    baseline=usual,
                    message=(
                        f"source {spec.name}: no file in the loads since {against}, while "
                        f"{', '.join(sorted(arrived))} arrived (it comes with every load; "
                        f"usually {_fmt(usual)} rows per file)"
                    ),
                )
            )
            continue
        if not spec.every_load or usual is None or len(older) < spec.min_baseline_files:
            continue
        for f in (f for f in new if f.source_table == spec.name):
            severity = None
            for name, ratio in ((BLOCK, spec.block_ratio), (WARN, spec.warn_ratio)):
                if f.rows > usual * ratio or f.rows < usual / ratio:
                    severity = name
                    break
            if severity is None:
                continue
            findings.append(
                Finding(
                    check=f"volume:{spec.name}",
                    severity=severity,
                    subject=spec.name,
                    metric="rows per file",
                    segment="all",
                    day=f.batch_id,
                    value=f.rows,
                    baseline=usual,
                    message=(
                        f"source {spec.name}: {f.path} holds {f.rows:,} rows against a median of "
                        f"{_fmt(usual)} over its last {len(older)} files"
                    ),
                )
            )
    return findings


def redeliveries(
    pairs: Sequence[tuple[str, str, str, int]], sources: Sequence[SourceSpec], against: str
) -> list[Finding]:
    """(source table, new path, earlier path, rows): the same content under another name."""
    full = {s.name for s in sources if s.full_extract}
    findings = []
    for table, path, earlier, rows in pairs:
        if table in full or rows == 0:
            continue
        findings.append(
            Finding(
                check=f"redelivery:{table}",
                severity=BLOCK,
                subject=table,
                metric="files",
                segment="all",
                day=against,
                value=rows,
                baseline=None,
                message=(
                    f"source {table}: {path} has the same content as {earlier}, loaded before "
                    f"({rows:,} rows delivered twice)"
                ),
            )
        )
    return findings


def evaluate(
    diff: Diff,
    specs: Sequence[MartSpec],
    files: Sequence[LoadedFile],
    pairs: Sequence[tuple[str, str, str, int]],
    sources: Sequence[SourceSpec],
) -> list[Finding]:
    """Every gate; blocks first."""
    if diff.against is None:
        return []  # a first publication has no history to compare with
    by_name = {s.name: s for s in specs}
    findings: list[Finding] = []
    for mart in diff.marts:
        spec = by_name[mart.mart]
        findings += anomalies(mart, spec) + restatements(mart, spec)
    against = f"v{diff.against:06d}"
    findings += volumes(files, sources, against) + redeliveries(pairs, sources, against)
    return sorted(findings, key=lambda f: (f.severity != BLOCK, f.check, f.day, f.segment))


CHART_DAYS = 42


def bands(mart: MartDiff, spec: MartSpec) -> list[dict[str, Any]]:
    """For the page's anomaly charts: per total, the published values of the last weeks with
    each day's normal band (the warn band of its baseline), and the candidate's new or
    changed days."""
    if not spec.totals or not mart.series:
        return []
    days = [d for d in mart.changed_days() if d is not None]
    out = []
    for total in spec.totals:
        by_day = mart.series.get((total.name, "", ""), {})
        published = sorted(d for d, (b, _) in by_day.items() if d is not None and b is not None)
        if not published:
            continue
        history = _published_history(by_day, published[0], published[-1])
        last = max([published[-1], *days])
        window = [last - dt.timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
        low, high = [], []
        for day in window:
            base = baseline(history, day, spec.gates)
            band = base.band(spec.gates.warn, total.floor) if base else (None, None)
            low.append(band[0])
            high.append(band[1])
        out.append(
            {
                "mart": mart.mart,
                "metric": total.name,
                "days": [d.isoformat() for d in window],
                "published": [history.get(d) for d in window],
                "low": low,
                "high": high,
                "candidate": {
                    d.isoformat(): by_day.get(d, (None, None))[1] or 0.0
                    for d in days
                    if d in window
                },
            }
        )
    return out
