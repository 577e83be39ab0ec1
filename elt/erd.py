"""The star-schema diagram, generated from the dbt manifest so it cannot drift from the models.

Relationships come from the marts' foreign-key tests (``foreign_keys``, or dbt's
``relationships``), primary keys from their ``unique`` tests (elt/declared_tests.py), column
types from their contracts. One diagram per domain (the folder under marts/), the star first: Mermaid in docs/models.md (GitHub draws it), pictures in the dbt docs overview
(elt/erd_svg.py draws them into the docs site), then a table of the same joins, written between
``<!-- erd:start -->`` and ``<!-- erd:end -->`` markers.

    python -m elt.erd --manifest target/manifest.json --write docs/models.md models/overview.md
    python -m elt.erd --manifest target/manifest.json --check docs/models.md models/overview.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elt.declared_tests import REFERENCES, UNIQUE, column_rules

START, END = "<!-- erd:start -->", "<!-- erd:end -->"
# in a dbt docs block the markers are Jinja comments: the docs site would print an HTML comment
DOCS_START, DOCS_END = "{# erd:start #}", "{# erd:end #}"
MART_PATH = re.compile(r"^(?:.*/)?marts/")


@dataclass(frozen=True)
class Join:
    fact: str  # the model holding the foreign key
    column: str
    dimension: str
    key: str


@dataclass
class Table:
    name: str
    columns: dict[str, str] = field(default_factory=dict)  # name -> data type
    domain: str = ""  # the folder under marts/: sales, shared, operations
    unique: set[str] = field(default_factory=set)  # columns with a `unique` test
    foreign_keys: set[str] = field(default_factory=set)

    def key_tags(self, column: str) -> list[str]:
        """PK for the first unique column (the surrogate key), UK for later ones, FK for joins."""
        first_unique = next((c for c in self.columns if c in self.unique), None)
        tags = []
        if column in self.unique:
            tags.append("PK" if column == first_unique else "UK")
        if column in self.foreign_keys:
            tags.append("FK")
        return tags


def star(manifest: dict[str, Any]) -> tuple[dict[str, Table], list[Join]]:
    """The marts, their keys and the joins between them."""
    tables = {
        node["name"]: Table(
            node["name"],
            {c: (col.get("data_type") or "") for c, col in node.get("columns", {}).items()},
            _domain(node["original_file_path"]),
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and MART_PATH.match(node["original_file_path"])
    }
    by_id = {uid: n["name"] for uid, n in manifest["nodes"].items() if n["name"] in tables}
    joins: set[Join] = set()
    for node in manifest["nodes"].values():
        owner = by_id.get(node.get("attached_node") or "")
        if node["resource_type"] != "test" or owner is None:
            continue
        for rule in column_rules(node, owner, by_id):
            if rule.kind == UNIQUE:
                tables[owner].unique.add(rule.column)
            elif rule.kind == REFERENCES and rule.to:
                joins.add(Join(owner, rule.column, rule.to, str(rule.field)))
                tables[owner].foreign_keys.add(rule.column)
    return tables, sorted(joins, key=lambda j: (j.fact, j.column, j.dimension))


@dataclass(frozen=True)
class Diagram:
    name: str  # sales, or sales-reports for a domain's tables that join nothing
    tables: dict[str, Table]
    joins: list[Join]

    @property
    def title(self) -> str:
        domain, _, reports = self.name.partition("-")
        facts = ", ".join(n for n in self.tables if n.startswith("fct_"))
        if reports or not facts:
            return f"{domain.capitalize()} reports: {', '.join(self.tables)}"
        return f"{domain.capitalize()}: the star of {facts}"

    @property
    def picture(self) -> str:
        """The file name of its picture in the docs site (`elt docs-pages` draws it)."""
        return f"erd-{self.name}.svg"


def diagrams(tables: dict[str, Table], joins: Sequence[Join]) -> list[Diagram]:
    """One diagram per domain (the folder under marts/): its tables and the conformed
    dimensions they join, the star (most joins) first; then, per domain, its tables that join
    nothing (reports), so they do not stretch the star."""
    shared = {n for n, t in tables.items() if t.domain == "shared"}
    joined = {j.fact for j in joins} | {j.dimension for j in joins}
    stars, reports = [], []
    for domain in sorted({t.domain for t in tables.values()} - {"shared"}):
        own = {n for n, t in tables.items() if t.domain == domain}
        own_joins = [j for j in joins if j.fact in own]
        members = {j.fact for j in own_joins} | {j.dimension for j in own_joins}
        own_joins += [j for j in joins if j.fact in shared and {j.fact, j.dimension} <= members]
        if members:
            stars.append(Diagram(domain, {n: tables[n] for n in sorted(members)}, own_joins))
        if loners := sorted(own - joined):
            reports.append(Diagram(f"{domain}-reports", {n: tables[n] for n in loners}, []))
    stars.sort(key=lambda d: (-len(d.joins), d.name))
    drawn = {n for d in stars for n in d.tables}
    if stars and shared - drawn:
        first = stars[0]
        extra = {n: tables[n] for n in sorted(shared - drawn)}
        stars[0] = Diagram(first.name, {**first.tables, **extra}, first.joins)
    return stars + reports


def mermaid(tables: dict[str, Table], joins: Sequence[Join]) -> str:
    """A Mermaid ER diagram: each mart with its keys, one line per join."""
    lines = ["```mermaid", "erDiagram"]
    for j in joins:
        lines.append(f'    {j.dimension} ||--o{{ {j.fact} : "{j.column}"')
    for name in sorted(tables):
        t = tables[name]
        lines.append(f"    {name} {{")
        for c in t.columns:
            if tags := t.key_tags(c):
                lines.append(f"        {_mermaid_type(t.columns[c])} {c} {','.join(tags)}")
        lines.append("    }")
    lines.append("```")
    return "\n".join(lines)


def join_table(joins: Sequence[Join]) -> str:
    """The same joins as a Markdown table (the dbt docs site does not draw Mermaid)."""
    rows = ["| from | column | to | key |", "|---|---|---|---|"]
    rows += [f"| `{j.fact}` | `{j.column}` | `{j.dimension}` | `{j.key}` |" for j in joins]
    return "\n".join(rows)


def section(manifest: dict[str, Any], pictures: bool = False) -> str:
    """The generated part of a page: a Mermaid diagram per domain (GitHub draws them), or, for
    the dbt docs site (which does not draw Mermaid), the pictures `elt docs-pages` writes
    beside it; then the joins as a table."""
    tables, joins = star(manifest)
    note = "generated by `make erd` from the dbt manifest; do not edit by hand"
    parts = [DOCS_START, f"{{# {note} #}}"] if pictures else [START, f"<!-- {note} -->"]
    for d in diagrams(tables, joins):
        parts.append(f"**{d.title}**")
        parts.append(f"![{d.title}]({d.picture})" if pictures else mermaid(d.tables, d.joins))
    return "\n\n".join([*parts, join_table(joins), DOCS_END if pictures else END])


def splice(text: str, generated: str, where: str) -> str:
    """``text`` with the part between the markers replaced by ``generated`` (either style of
    markers: a page written before the docs-block style is rewritten in it)."""
    for first, last in ((START, END), (DOCS_START, DOCS_END)):
        start, end = text.find(first), text.find(last)
        if start >= 0 and end > start:
            return text[:start] + generated + text[end + len(last) :]
    raise ValueError(f"{where}: no {START} ... {END} markers to write the diagram between")


def _domain(path: str) -> str:
    after = path.split("marts/", 1)[-1]
    return after.split("/", 1)[0] if "/" in after else "marts"


def _mermaid_type(data_type: str) -> str:
    # Mermaid attribute types are single words: varchar(32) -> varchar
    return re.sub(r"\W.*$", "", data_type) or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m elt.erd", description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, default=Path("target/manifest.json"))
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", nargs="+", type=Path, metavar="FILE")
    mode.add_argument("--check", nargs="+", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        manifest = json.loads(args.manifest.read_text())
        generated = {pictures: section(manifest, pictures) for pictures in (False, True)}
    except (OSError, ValueError, KeyError) as exc:
        print(f"erd: {args.manifest}: {exc}", file=sys.stderr)
        return 2
    stale = []
    for path in args.write or args.check:
        text = path.read_text()
        try:
            # a dbt docs block is the docs site's overview: pictures, not Mermaid
            new = splice(text, generated["{% docs" in text], str(path))
        except ValueError as exc:
            print(f"erd: {exc}", file=sys.stderr)
            return 2
        if new == text:
            continue
        if args.write:
            path.write_text(new)
            print(f"erd: updated {path}")
        else:
            stale.append(str(path))
    if stale:
        print(f"erd: diagram is stale in {', '.join(stale)}; run `make erd`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
