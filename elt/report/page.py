"""The monitoring page: plotly charts and two tables in one self-contained HTML file.

plotly.js is embedded once (no CDN, no network), every chart is a div whose id the browser
test looks up (``chart-...``), and a trace's name is the series it plots (a source table, a
region, a test status), so a test can compare each point with SQL.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import plotly.colors  # type: ignore[import-untyped]
import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.offline  # type: ignore[import-untyped]

from elt.report.data import ReportData, Rows

TEST_STATUSES = (
    ("tests_passed", "passed", "#2ca02c"),
    ("tests_warned", "warned", "#ff7f0e"),
    ("tests_failed", "failed", "#d62728"),
    ("tests_errored", "errored", "#8c564b"),
    ("tests_skipped", "skipped", "#7f7f7f"),
)
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
# distinct colours, given to series by name (sorted): no two series of a chart share one up to
# this many series (plotly's default repeats after ten: Books and Unknown were both red);
# the unknown member is grey wherever it appears
PALETTE: list[str] = [
    *plotly.colors.qualitative.D3[:7],  # blue, orange, green, red, purple, brown, pink
    "#bcbd22",  # olive
    "#17becf",  # cyan
    "#000080",  # navy
    "#e6b800",  # gold
    "#006400",  # dark green
    "#800000",  # maroon
    "#ff00ff",  # magenta
    "#00ff7f",  # spring green
    "#4b0082",  # indigo
]
UNKNOWN_COLOUR = "#9e9e9e"
DAY_MS = 86_400_000
LOAD_DAY = "load day (UTC, by the clock)"
ORDER_DAY = "order day (the data's business date)"
RUN_DAY = "run day (UTC, by the clock)"


def series(rows: Rows, x: str, key: str, y: str) -> dict[str, tuple[list[Any], list[Any]]]:
    """{series: (xs, ys)} from long rows, in the rows' order."""
    out: dict[str, tuple[list[Any], list[Any]]] = {}
    for row in rows:
        xs, ys = out.setdefault(str(row[key]), ([], []))
        xs.append(row[x])
        ys.append(row[y])
    return out


def _figure(
    title: str, y_title: str, traces: Iterable[Any], barmode: str | None = None
) -> go.Figure:
    fig = go.Figure(list(traces))
    fig.update_layout(
        title={"text": title, "x": 0.01},
        yaxis_title=y_title,
        barmode=barmode,
        height=360,
        margin={"l": 60, "r": 20, "t": 50, "b": 60},
        legend={"orientation": "h", "y": -0.3},
        template="plotly_white",
    )
    if not fig.data:
        fig.add_annotation(text="no data yet", showarrow=False, font={"size": 16})
    return fig


def _days(fig: go.Figure, axis: str) -> go.Figure:
    """An x axis of whole days, titled with which day it is (the clock's or the data's);
    one tick a day when the period is short (no repeated labels)."""
    days = {str(x)[:10] for trace in fig.data for x in (trace.x if trace.x is not None else ())}
    fig.update_xaxes(type="date", tickformat="%b %d\n%Y", title_text=axis)
    if 0 < len(days) <= 21:
        fig.update_xaxes(dtick=DAY_MS, tickformat="%b %d")
    return fig


def _colours(names: Iterable[str]) -> dict[str, str]:
    every = set(names)
    known = sorted(n for n in every if n.lower() not in ("unknown", "(none)"))
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(known)}
    return colours | {n: UNKNOWN_COLOUR for n in every if n not in colours}


def _stacked(
    rows: Rows, x: str, key: str, y: str, title: str, y_title: str, axis: str
) -> go.Figure:
    data = series(rows, x, key, y)
    colour = _colours(data)
    return _days(
        _figure(
            title,
            y_title,
            (
                go.Bar(name=name, x=xs, y=ys, marker_color=colour[name])
                for name, (xs, ys) in data.items()
            ),
            barmode="stack",
        ),
        axis,
    )


def _lines(rows: Rows, x: str, key: str, y: str, title: str, y_title: str, axis: str) -> go.Figure:
    data = series(rows, x, key, y)
    colour = _colours(data)
    fig = _figure(
        title,
        y_title,
        (
            go.Scatter(name=name, x=xs, y=ys, mode="lines+markers", line={"color": colour[name]})
            for name, (xs, ys) in data.items()
        ),
    )
    fig.update_yaxes(rangemode="tozero")  # a flat zero line is not drawn from -1 to 1
    return _days(fig, axis)


def audit_chart(chart: dict[str, Any]) -> go.Figure:
    """A declared total per business day as analysts read it, its normal band (the audit's
    warn band, from the same weekdays of the published history) and last night's candidate."""
    days, low, high = chart["days"], chart["low"], chart["high"]
    candidate = chart.get("candidate") or {}
    outside = [
        d
        for d, v in candidate.items()
        if d in days
        and low[days.index(d)] is not None
        and not low[days.index(d)] <= v <= high[days.index(d)]
    ]
    traces = [
        go.Scatter(
            name="normal band (low)",
            x=days,
            y=low,
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        ),
        go.Scatter(
            name="normal band",
            x=days,
            y=high,
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.15)",
        ),
        go.Scatter(
            name="published",
            x=days,
            y=chart["published"],
            mode="lines+markers",
            line={"color": "#555"},
        ),
        go.Scatter(
            name="candidate",
            x=list(candidate),
            y=list(candidate.values()),
            mode="markers",
            marker={
                "size": 11,
                "color": ["#d62728" if d in outside else "#2ca02c" for d in candidate],
                "symbol": "diamond",
            },
        ),
    ]
    fig = _figure(f"{chart['mart']}.{chart['metric']} per day", chart["metric"], traces)
    normal = [v for v in (*high, *chart["published"]) if v]
    if normal and max(candidate.values(), default=0) > 10 * max(normal):
        # one value far off the scale: a log axis keeps the band readable
        fig.update_yaxes(type="log", title_text=f"{chart['metric']} (log scale)")
    return _days(fig, ORDER_DAY)


def figures(data: ReportData) -> dict[str, go.Figure]:
    """Every chart of the page, by div id."""
    d = data.datasets
    tests = d["test_results"]
    health = d["pipeline_health"]
    slowest = list(reversed(d["slowest_models"]))  # the slowest on top
    charts = {
        "chart-test-results": _days(
            _figure(
                "Test results per day (each test's latest result that day)",
                "tests",
                (
                    go.Bar(
                        name=label,
                        x=[r["run_date"] for r in tests],
                        y=[r[column] for r in tests],
                        marker_color=colour,
                    )
                    for column, label, colour in TEST_STATUSES
                )
                if tests
                else (),
                barmode="stack",
            ),
            RUN_DAY,
        ),
        "chart-run-durations": _lines(
            d["run_durations"],
            "run_date",
            "run_command",
            "seconds_per_run",
            "Run time per day by command (seconds per run, averaged)",
            "seconds per run",
            RUN_DAY,
        ),
        "chart-slowest-models": _figure(
            "Slowest models (latest build, seconds)",
            "",
            [
                go.Bar(
                    name="latest build",
                    x=[r["latest_seconds"] for r in slowest],
                    y=[r["model_name"] for r in slowest],
                    orientation="h",
                )
            ]
            if slowest
            else [],
        ),
        "chart-rows-loaded": _stacked(
            health,
            "load_date",
            "source_table",
            "rows_loaded",
            "Rows loaded per day",
            "rows",
            LOAD_DAY,
        ),
        "chart-freshness": _lines(
            health,
            "load_date",
            "source_table",
            "freshness_lag_hours",
            "Freshness lag per source (hours to the next load, or to the build)",
            "hours",
            LOAD_DAY,
        ),
        "chart-quarantine": _lines(
            health,
            "load_date",
            "source_table",
            "quarantine_rate",
            "Quarantine rate per source (lines the loader kept out / lines in the files)",
            "share of lines",
            LOAD_DAY,
        ),
        "chart-rejects": _lines(
            health,
            "load_date",
            "source_table",
            "reject_rate",
            "Reject rate per source (rows dbt kept out / lines in the files)",
            "share of lines",
            LOAD_DAY,
        ),
    }
    charts["chart-slowest-models"].update_layout(height=max(360, 26 * len(slowest) + 80))
    charts["chart-slowest-models"].update_xaxes(title_text="seconds (latest build)")
    if data.published:
        orders = d["orders_by_region"]
        aov = [
            {**r, "aov": r["net_revenue_usd"] / r["valued_orders"]}
            for r in orders
            if r["valued_orders"] and r["net_revenue_usd"] is not None
        ]
        charts |= {
            "chart-revenue-region": _stacked(
                d["revenue_by_region"],
                "order_date",
                "region",
                "revenue_usd",
                "Revenue per day by region (USD)",
                "US dollars",
                ORDER_DAY,
            ),
            "chart-revenue-category": _stacked(
                d["revenue_by_category"],
                "order_date",
                "category",
                "revenue_usd",
                "Revenue per day by category (USD)",
                "US dollars",
                ORDER_DAY,
            ),
            "chart-orders": _stacked(
                orders,
                "order_date",
                "region",
                "orders",
                "Orders per day by region",
                "orders",
                ORDER_DAY,
            ),
            "chart-aov": _lines(
                aov,
                "order_date",
                "region",
                "aov",
                "Average order value per day by region (USD)",
                "US dollars",
                ORDER_DAY,
            ),
        }
    last = (data.publication or {}).get("last") or {}
    for chart in last.get("charts") or []:
        charts[f"chart-audit-{chart['mart']}-{chart['metric']}"] = audit_chart(chart)
    return charts


def outcome_class(outcome: str) -> str:
    """The CSS class of a night's outcome ("nothing new" -> outcome-nothing-new)."""
    return "outcome-" + html.escape(outcome.replace(" ", "-"))


def banner(publication: dict[str, Any]) -> str:
    """The page's first lines: what analysts read and since when, last night's outcome with
    its reasons, the diff and the anomaly charts (their divs are added by ``render``)."""
    if not publication:
        return "<p class='empty'>no publication record (`elt publish` keeps one)</p>"
    esc = html.escape
    current = publication.get("current")
    reading = (
        f"Analysts read <b id='reading-version'>v{current['number']:06d}</b> since "
        f"<span id='reading-since'>{esc(str(publication.get('since')))}</span> "
        f"({esc(str(publication.get('how')))}; built {esc(str(current.get('built_at')))})"
        if current
        else "Analysts read nothing yet: nothing is published"
    )
    parts = [f"<p class='reading'>{reading}</p>"]
    hold = publication.get("hold")
    if hold:
        parts.append(
            f"<p class='hold' id='hold'>Held at v{hold['version']:06d} since "
            f"{esc(hold['since'])} by {esc(hold['by'])}: {esc(hold['reason'])} "
            "(<code>elt release</code> ends it)</p>"
        )
    last = publication.get("last")
    if not last:
        parts.append("<p>Last night: no publication attempted yet.</p>")
        return "".join(parts)
    outcome = str(last["outcome"])
    parts.append(
        f"<p class='night'>Last night ({esc(last['at'])}): "
        f"<b id='outcome-word' class='{outcome_class(outcome)}'>{esc(outcome)}</b></p>"
    )
    if last.get("reasons"):
        items = "".join(f"<li>{esc(r)}</li>" for r in last["reasons"])
        parts.append(f"<ul id='outcome-reasons'>{items}</ul>")
        if outcome not in ("published", "nothing new"):
            parts.append(f"<p class='meta'>Runbook: {esc(last.get('runbook') or '')}</p>")
    accepted = last.get("accepted")
    if accepted:
        parts.append(
            f"<p id='accepted'>Accepted by {esc(accepted['by'])} at {esc(accepted['at'])}: "
            f"{esc(', '.join(accepted['checks']))} - {esc(str(accepted['reason']))}</p>"
        )
    warnings = [f for f in last.get("findings") or [] if f.get("severity") != "block"]
    if warnings:
        items = "".join(f"<li>{esc(f['check'])}: {esc(f['message'])}</li>" for f in warnings)
        parts.append(f"<p>Warnings:</p><ul id='outcome-warnings'>{items}</ul>")
    parts.append(f"<p id='diff-summary'>Diff: {esc(str(last.get('summary')))}</p>")
    marts = [
        m
        for m in (last.get("diff") or {}).get("marts", [])
        if m["added"] or m["removed"] or m["changed"]
    ]
    rows = [
        {
            "mart": m["mart"],
            "added": m["added"],
            "removed": m["removed"],
            "changed": m["changed"],
            "restated_rows": m["restated_rows"],
            "columns": ", ".join(f"{c} {n}" for c, n in sorted(m["columns_changed"].items()) if n),
        }
        for m in marts
    ]
    parts.append(
        "<div id='diff-table'>"
        + _table(
            rows,
            [
                ("mart", "mart"),
                ("added", "rows added"),
                ("removed", "removed"),
                ("changed", "changed"),
                ("restated_rows", "restated (older days)"),
                ("columns", "rows changed per column"),
            ],
            "no mart changes",
        )
        + "</div>"
    )
    return "".join(parts)


def _table(rows: Rows, columns: list[tuple[str, str]], empty: str) -> str:
    if not rows:
        return f"<p class='empty'>{html.escape(empty)}</p>"
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='{html.escape(str(row.get(key)))}'>{html.escape('' if row.get(key) is None else str(row.get(key)))}</td>"
            for key, _ in columns
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


CSS = """
body { font-family: system-ui, sans-serif; margin: 0 2rem 2rem; color: #222; }
header { border-bottom: 1px solid #ddd; margin-bottom: 1rem; }
h1 { margin: 1rem 0 0.2rem; font-size: 1.5rem; }
h2 { margin: 1.5rem 0 0.5rem; font-size: 1.2rem; }
.meta { color: #666; font-size: 0.9rem; margin-bottom: 0.8rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1rem; }
.grid > div { min-width: 0; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
td.success, td.pass { color: #2ca02c; font-weight: 600; }
td.warn { color: #ff7f0e; font-weight: 600; }
td.error, td.fail { color: #d62728; font-weight: 600; }
.empty { color: #888; font-style: italic; }
#last-run table, #problems table, #diff-table table { width: 100%; }
td { overflow-wrap: anywhere; }
.banner { border: 2px solid #ccc; border-radius: 6px; padding: 0.2rem 1rem 0.8rem; margin-top: 1rem; }
.banner.outcome-published { border-color: #2ca02c; }
.banner.outcome-blocked, .banner.outcome-failed { border-color: #d62728; background: #fff5f5; }
.banner.outcome-held { border-color: #ff7f0e; background: #fffaf0; }
b.outcome-published { color: #2ca02c; } b.outcome-blocked, b.outcome-failed { color: #d62728; }
b.outcome-held { color: #ff7f0e; }
.banner.outcome-nothing-new { border-color: #1f77b4; }
b.outcome-nothing-new { color: #1f77b4; }
.hold { font-weight: 600; color: #b35900; }
"""


def render(data: ReportData) -> str:
    """The whole page: plotly.js once, then every chart and table."""
    charts = figures(data)
    parts: dict[str, str] = {}
    for div_id, fig in charts.items():
        parts[div_id] = fig.to_html(
            full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG
        )
    # plotly.js once, inline in the head (the page needs no network), before any chart
    plotly_js = plotly.offline.get_plotlyjs()
    last_runs_note = (
        "<p class='meta'>A load counts files: failed = files refused, warned = files with "
        "lines the loader quarantined (the quarantine chart below). A build counts dbt nodes: "
        "failed, warned and skipped nodes.</p>"
    )
    last_runs = _table(
        data.datasets["latest_runs"],
        [
            ("run_command", "run"),
            ("run_status", "status"),
            ("run_started_at", "started (UTC)"),
            ("run_seconds", "seconds"),
            ("items", "files / nodes"),
            ("failed_items", "failed"),
            ("warned_items", "warned (quarantined lines / warned nodes)"),
            ("skipped_items", "skipped"),
            ("failed_item_names", "what failed"),
            ("rows_loaded", "rows loaded"),
            ("git_commit", "commit"),
        ],
        "no run recorded yet (`elt load` records itself; `make build` records dbt)",
    )
    problems = _table(
        data.datasets["problem_nodes"],
        [
            ("run_started_at", "run started (UTC)"),
            ("node_status", "status"),
            ("resource_type", "type"),
            ("node_name", "node"),
            ("failures", "failing rows"),
            ("node_state", "now"),
            ("node_message", "message"),
        ],
        "no test or model failed or warned in this period",
    )

    def grid(*ids: str) -> str:
        return "<div class='grid'>" + "".join(parts[i] for i in ids if i in parts) + "</div>"

    business = (
        grid("chart-revenue-region", "chart-revenue-category", "chart-orders", "chart-aov")
        if data.published
        else "<p class='empty'>nothing is published yet (`make publish`)</p>"
    )
    audit_charts = grid(*(i for i in parts if i.startswith("chart-audit-")))
    outcome = outcome_class(
        str(((data.publication or {}).get("last") or {}).get("outcome") or "none")
    )
    title = f"ELT warehouse monitoring: {data.environment} on {data.target}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{plotly_js}</script></head>
<body>
<header><h1>{html.escape(title)}</h1>
<div class="meta">generated {html.escape(data.generated_at)} UTC from the warehouse; period from
{html.escape(data.since)}; business figures from the published marts</div></header>
<section id="outcome" class="banner {outcome}"><h2>Publication</h2>
{banner(data.publication)}{audit_charts}</section>
<section id="last-run"><h2>Last runs</h2>{last_runs_note}{last_runs}</section>
<section id="problems"><h2>Failed and warning nodes</h2>{problems}</section>
<section id="pipeline"><h2>Builds and tests</h2>
{grid("chart-test-results", "chart-run-durations", "chart-slowest-models")}</section>
<section id="sources"><h2>Sources</h2>
{grid("chart-rows-loaded", "chart-freshness", "chart-quarantine", "chart-rejects")}</section>
<section id="business"><h2>Business (published marts)</h2>{business}</section>
</body></html>
"""
