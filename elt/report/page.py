"""The monitoring page: plotly charts and two tables in one self-contained HTML file.

plotly.js is embedded once (no CDN, no network), every chart is a div whose id the browser
test looks up (``chart-...``), and a trace's name is the series it plots (a source table, a
region, a test status), so a test can compare each point with SQL.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]

from elt.report.data import ReportData, Rows

TEST_STATUSES = (
    ("tests_passed", "passed", "#2ca02c"),
    ("tests_warned", "warned", "#ff7f0e"),
    ("tests_failed", "failed", "#d62728"),
    ("tests_errored", "errored", "#8c564b"),
    ("tests_skipped", "skipped", "#7f7f7f"),
)
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


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
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        legend={"orientation": "h", "y": -0.18},
        template="plotly_white",
    )
    if not fig.data:
        fig.add_annotation(text="no data yet", showarrow=False, font={"size": 16})
    return fig


def _days(fig: go.Figure) -> go.Figure:
    """An x axis of whole days."""
    fig.update_xaxes(type="date", tickformat="%b %d\n%Y")
    return fig


def _stacked(rows: Rows, x: str, key: str, y: str, title: str, y_title: str) -> go.Figure:
    return _days(
        _figure(
            title,
            y_title,
            (go.Bar(name=name, x=xs, y=ys) for name, (xs, ys) in series(rows, x, key, y).items()),
            barmode="stack",
        )
    )


def _lines(rows: Rows, x: str, key: str, y: str, title: str, y_title: str) -> go.Figure:
    return _days(
        _figure(
            title,
            y_title,
            (
                go.Scatter(name=name, x=xs, y=ys, mode="lines+markers")
                for name, (xs, ys) in series(rows, x, key, y).items()
            ),
        )
    )


def figures(data: ReportData) -> dict[str, go.Figure]:
    """Every chart of the page, by div id."""
    d = data.datasets
    tests = d["test_results"]
    health = d["pipeline_health"]
    slowest = list(reversed(d["slowest_models"]))  # the slowest on top
    charts = {
        "chart-test-results": _days(
            _figure(
                "Test results per day",
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
            )
        ),
        "chart-run-durations": _stacked(
            d["run_durations"],
            "run_date",
            "run_command",
            "total_seconds",
            "Run time per day, by command",
            "seconds",
        ),
        "chart-slowest-models": _figure(
            "Slowest models (latest build)",
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
            health, "load_date", "source_table", "rows_loaded", "Rows loaded per day", "rows"
        ),
        "chart-freshness": _lines(
            health,
            "load_date",
            "source_table",
            "freshness_lag_hours",
            "Freshness lag per source (hours to the next load, or to the build)",
            "hours",
        ),
        "chart-quarantine": _lines(
            health,
            "load_date",
            "source_table",
            "quarantine_rate",
            "Quarantine rate per source (lines the loader kept out / lines in the files)",
            "share of lines",
        ),
        "chart-rejects": _lines(
            health,
            "load_date",
            "source_table",
            "reject_rate",
            "Reject rate per source (rows dbt kept out / lines in the files)",
            "share of lines",
        ),
    }
    charts["chart-slowest-models"].update_layout(height=max(360, 26 * len(slowest) + 80))
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
            ),
            "chart-revenue-category": _stacked(
                d["revenue_by_category"],
                "order_date",
                "category",
                "revenue_usd",
                "Revenue per day by category (USD)",
                "US dollars",
            ),
            "chart-orders": _stacked(
                orders, "order_date", "region", "orders", "Orders per day by region", "orders"
            ),
            "chart-aov": _lines(
                aov,
                "order_date",
                "region",
                "aov",
                "Average order value per day by region (USD)",
                "US dollars",
            ),
        }
    return charts


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
"""


def render(data: ReportData) -> str:
    """The whole page: plotly.js once, then every chart and table."""
    charts = figures(data)
    parts: dict[str, str] = {}
    first = True
    for div_id, fig in charts.items():
        parts[div_id] = fig.to_html(
            full_html=False,
            include_plotlyjs=first,  # embedded once, inline: the page needs no network
            div_id=div_id,
            config=PLOTLY_CONFIG,
        )
        first = False
    last_runs = _table(
        data.datasets["latest_runs"],
        [
            ("run_command", "run"),
            ("run_status", "status"),
            ("run_started_at", "started (UTC)"),
            ("run_seconds", "seconds"),
            ("items", "files / nodes"),
            ("failed_items", "failed"),
            ("warned_items", "warned"),
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
    title = f"ELT warehouse monitoring: {data.environment} on {data.target}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style></head>
<body>
<header><h1>{html.escape(title)}</h1>
<div class="meta">generated {html.escape(data.generated_at)} UTC from the warehouse; period from
{html.escape(data.since)}; business figures from the published marts</div></header>
<section id="last-run"><h2>Last runs</h2>{last_runs}</section>
<section id="problems"><h2>Failed and warning nodes</h2>{problems}</section>
<section id="pipeline"><h2>Builds and tests</h2>
{grid("chart-test-results", "chart-run-durations", "chart-slowest-models")}</section>
<section id="sources"><h2>Sources</h2>
{grid("chart-rows-loaded", "chart-freshness", "chart-quarantine", "chart-rejects")}</section>
<section id="business"><h2>Business (published marts)</h2>{business}</section>
</body></html>
"""
