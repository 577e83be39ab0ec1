"""Where analysts read the published marts and how to query them: what `make run` ends with
(`elt where`)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from elt.context import Context

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
    if target.type == "spark":
        marts = env.schema("marts")
        return [
            f"Done. Built on Spark (environment {env.label}): marts in {marts} (Spark has no "
            "published copy yet: docs/spark.md)",
            f"  Query it:    make spark-sql SQL='{SAMPLE.format(schema=marts)}'",
            docs,
            "  The cluster: make spark-down stops it",
        ]
    schema = env.published_schema
    lines = [
        f"Done. Published for analysts ({target.name}, environment {env.label}): schema {schema}"
    ]
    if target.type == "duckdb":
        from elt.publish.duckdb_store import published_path

        build = Path(str(target.settings.get("path")))
        published = published_path(build, env)
        query = (
            f'import duckdb; print(duckdb.connect("{published}", read_only=True)'
            f'.sql("{SAMPLE.format(schema=schema)}"))'
        )
        lines += [
            f"  DuckDB file: {published}  (read-only; the build itself: {build})",
            f"  Query it:    {_python()} -c {shlex.quote(query)}",
        ]
    else:
        s = target.settings
        analyst = os.environ.get("ELT_PG_ANALYST_USER", "elt_analyst")
        lines.append(
            f"  PostgreSQL:  psql -h {s.get('host')} -p {s.get('port')} -U {analyst} "
            f"{s.get('dbname')} -c {shlex.quote(SAMPLE.format(schema=schema))}"
        )
    lines += [
        f"  Analyses:    make analyses (or {elt} analyses NAME): analyses/ on the published marts",
        docs,
        f"  Monitoring:  {ctx.report_path} (open it in a browser; make report refreshes it)",
        "  Metrics:     make metrics ARGS='query --metrics revenue,orders --group-by metric_time__month'",
    ]
    return lines
