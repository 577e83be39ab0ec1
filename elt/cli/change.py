"""Lineage and change impact: column lineage (`elt lineage`), the docs site's own pages
(`elt docs-pages`), and what a CI build's changes do to the published marts (`elt impact`)."""

from __future__ import annotations

from pathlib import Path

import click

from elt.cli.base import Context, UserError, context_options, main


@main.command("lineage")
@context_options()
@click.argument("column")
@click.option(
    "--down", is_flag=True, help="The mart columns made from COLUMN, instead of its path to raw."
)
def lineage_cmd(ctx: Context, column: str, down: bool) -> None:
    """Column lineage from dbt's manifest and catalog: COLUMN (model.column, or
    source.table.column) back to the raw tables, or (--down) every mart column it reaches."""
    from elt.lineage.project import load
    from elt.lineage.text import downstream_lines, upstream_lines

    lineage = load(ctx.project.dbt_target_dir)
    ref = lineage.find(column)
    lines = downstream_lines(lineage, ref) if down else upstream_lines(lineage, ref)
    click.echo("\n".join(lines))


@main.command("docs-pages")
@context_options()
def docs_pages_cmd(ctx: Context) -> None:
    """Write the project's pages into the dbt docs site (dbt's target folder, beside
    index.html): the column-lineage page lineage.html, its OpenLineage document
    column_lineage.json, and the star-schema pictures the overview shows."""
    from elt.docs_pages import write_pages
    from elt.warehouse.engines import engine

    for path in write_pages(ctx.project.dbt_target_dir, engine(ctx.target).namespace()):
        click.echo(f"wrote {path}")


@main.command("impact")
@context_options()
@click.option(
    "--state",
    "state_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Production's state: the folder holding its manifest.json (make ci-slim: STATE_DIR/prod).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write impact.md, impact.html and impact.json [default: dbt's target/impact].",
)
@click.option(
    "--fail-on-breaking",
    is_flag=True,
    help="Exit 1 when a change breaks what analysts or an exposure read (unless --accept).",
)
@click.option(
    "--accept",
    envvar="ELT_ACCEPT_BREAKING",
    default=None,
    help="Accept the breaking changes, saying why (kept in the report) [env ELT_ACCEPT_BREAKING].",
)
def impact_cmd(
    ctx: Context, state_dir: Path, out: Path | None, fail_on_breaking: bool, accept: str | None
) -> None:
    """What the CI build's changes do to the marts analysts read: per rebuilt mart, against
    production's published version, the schema diff, rows added/removed/changed, columns'
    match, totals per day, exposures, and the mart columns each changed column reaches
    (column lineage); each change breaking, non-breaking or no data change."""
    from elt.impact import report
    from elt.publish.audit import read_artifact

    target_dir = ctx.project.dbt_target_dir
    impact = report.build(
        ctx.target,
        read_artifact(target_dir / "manifest.json", "CI manifest (run the CI build first)"),
        read_artifact(state_dir / "manifest.json", "production manifest"),
        read_artifact(target_dir / "run_results.json", "CI run results"),
    )
    if impact.breaking and accept:
        impact.accepted = accept
    written = report.write(impact, out or target_dir / "impact")
    click.echo(report.markdown(impact).rstrip())
    click.echo(f"\nreport: {written[0]} and {written[1]}", err=True)
    if fail_on_breaking and impact.breaking and not accept:
        names = ", ".join(m.mart for m in impact.breaking)
        raise UserError(
            f"breaking change to {names}: accept it with --accept 'why' "
            "(make ci-slim ACCEPT='why') once analysts and exposure owners know",
            1,
        )
