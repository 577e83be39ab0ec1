"""Lineage and change impact: column lineage (`elt lineage`), the docs site's own pages
(`elt docs-pages`), the difference between two builds or versions of the marts (`elt diff`)."""

from __future__ import annotations

import click

from elt.cli.base import Context, context_options, main


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
