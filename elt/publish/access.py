"""Where analysts read the published marts and how to query them: what `make run` ends with
(`elt where`)."""

from __future__ import annotations

import sys
from pathlib import Path

from elt.context import Context
from elt.warehouse.engines import engine

# a first query whose columns all show (the sort key included)
SAMPLE = (
    "select order_date, category, region, order_count, net_revenue_usd "
    "from {schema}.rpt_daily_sales order by net_revenue_usd desc limit 10"
)


def _python() -> str:
    """The interpreter elt runs in, as the user can type it (relative to the project)."""
    here = Path(sys.executable)
    try:
        return str(here.relative_to(Path.cwd()))
    except ValueError:
        return str(here)


def where_to_read(ctx: Context) -> list[str]:
    target, env = ctx.target, ctx.env
    elt = str(Path(_python()).with_name("elt"))
    docs = (
        f"  Docs:        {ctx.project.dbt_target_dir / 'index.html'} (make serve-docs to browse it)"
    )
    warehouse = engine(target)
    lines = warehouse.where_analysts_read(env, SAMPLE, _python())
    lines += [
        f"  Analyses:    make analyses (or {elt} analyses NAME): analyses/ on the published marts",
        docs,
        f"  Monitoring:  {ctx.report_path} (open it in a browser; make report refreshes it)",
        "  Metrics:     make metrics ARGS='query --metrics revenue,orders --group-by metric_time__month'",
    ]
    if ctx.lake is not None:
        lines.append(
            f"  Delta:       {ctx.lake / env.published_schema}/<mart> (a Delta version per "
            "publication; _elt_versions.json maps the published versions)"
        )
    return lines
