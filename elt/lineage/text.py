"""A column's lineage as lines for a terminal (`elt lineage`)."""

from __future__ import annotations

from elt.lineage.project import ColumnRef, ProjectLineage

ARROW = "<-"


def upstream_lines(lineage: ProjectLineage, ref: ColumnRef) -> list[str]:
    """The column, then every column it is made of back to the raw tables, indented by depth;
    then the columns only filtering or joining the models on the way."""
    lines = [f"{lineage.label(ref)}  ({_origin(lineage, ref)})"]
    for depth, edge in lineage.upstream(ref):
        source = edge.source
        lines.append(f"{'  ' * (depth + 1)}{ARROW} {lineage.label(source)}  [{edge.kind}]")
    indirect = sorted(
        {(lineage.label(e.source), e.kind) for e in lineage.indirect.get(ref.node, [])}
    )
    if indirect:
        lines.append(f"{lineage.nodes[ref.node].name} is filtered, joined or grouped by:")
        lines += [f"  {label}  [{kind}]" for label, kind in indirect]
    raw = sorted(lineage.label(r) for r in lineage.raw_sources(ref))
    lines.append("raw: " + (", ".join(raw) if raw else f"none ({_origin(lineage, ref)})"))
    return lines


def downstream_lines(lineage: ProjectLineage, ref: ColumnRef) -> list[str]:
    marts = lineage.marts_reached(ref)
    lines = [f"{lineage.label(ref)} reaches {len(marts)} mart column(s):"]
    return lines + [f"  {lineage.label(m)}" for m in marts]


def _origin(lineage: ProjectLineage, ref: ColumnRef) -> str:
    return lineage.origins.get(ref, "unknown")
