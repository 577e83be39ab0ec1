"""What a change does: column lineage (`elt lineage`) and the difference between two builds or
versions of the marts (`elt diff`)."""

from __future__ import annotations

import json

import click

from elt.cli.base import Context, context_options, main


@main.command("lineage")
@context_options()
@click.argument("column", required=False)
@click.option(
    "--down", is_flag=True, help="The mart columns made from COLUMN, instead of its path to raw."
)
@click.option(
    "--write",
    is_flag=True,
    help="Write the docs site's lineage page (lineage.html) and the OpenLineage document "
    "(column_lineage.json) into dbt's target folder, beside index.html.",
)
def lineage_cmd(ctx: Context, column: str | None, down: bool, write: bool) -> None:
    """Column lineage from dbt's manifest and catalog: COLUMN (model.column, or
    source.table.column) back to the raw tables, or (--down) every mart column it reaches."""
    from elt.lineage import openlineage, page
    from elt.lineage.project import load
    from elt.lineage.text import downstream_lines, upstream_lines
    from elt.warehouse.engines import engine

    target_dir = ctx.project.dbt_target_dir
    lineage = load(target_dir)
    if write:
        document = openlineage.document(lineage, engine(ctx.target).namespace())
        for dataset in document:
            openlineage.validate(dataset)
        (target_dir / page.DOCUMENT).write_text(json.dumps(document, indent=1) + "\n")
        written = page.write(lineage, target_dir)
        click.echo(
            f"column lineage of {len(document)} models: {written} and "
            f"{target_dir / page.DOCUMENT} (OpenLineage columnLineage)"
        )
    if column:
        ref = lineage.find(column)
        lines = downstream_lines(lineage, ref) if down else upstream_lines(lineage, ref)
        click.echo("\n".join(lines))
    elif not write:
        raise click.UsageError("name a column (model.column), or --write the docs page")
