"""Column lineage of the whole dbt project, from its manifest (compiled SQL) and catalog.

Each model's compiled SQL is read in its target's dialect (``elt.lineage.sql``), in the order
dbt builds them, so a model's ``select *`` from another expands to the columns computed for
it; sources and seeds take their columns from the catalog (or, before ``dbt docs generate``,
from their YAML). An edge runs from a model's column to a column of the relation it reads
(a model, a snapshot, a seed or a source); following edges up reaches the raw tables, down
reaches the marts analysts query.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from elt.errors import LoaderError
from elt.lineage.sql import CONSTANT, DERIVED, GENERATED, Input, Table, query_lineage

# sqlglot's name for each dbt adapter's SQL
DIALECTS = {"duckdb": "duckdb", "postgres": "postgres", "spark": "spark"}
BUILT = ("model", "snapshot")
RAW = ("source", "seed")
# the columns dbt adds to a snapshot's select: made by dbt, from no input column
SNAPSHOT_COLUMNS = ("dbt_scd_id", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to")


@dataclasses.dataclass(frozen=True, order=True)
class ColumnRef:
    node: str  # a unique_id of the manifest
    column: str


@dataclasses.dataclass(frozen=True, order=True)
class Edge:
    source: ColumnRef
    kind: str  # passthrough | rename | transformation | aggregation | JOIN | FILTER | ...


@dataclasses.dataclass(frozen=True)
class Node:
    unique_id: str
    name: str  # fct_orders, or shop.orders for a source
    resource_type: str
    layer: str  # staging, intermediate, marts, snapshots, seeds, sources
    relation: Table
    description: str
    column_descriptions: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ProjectLineage:
    dialect: str
    nodes: dict[str, Node]
    columns: dict[str, list[str]]  # node -> its columns, in order
    edges: dict[ColumnRef, list[Edge]]  # a built column -> what it is made of
    origins: dict[ColumnRef, str]  # derived | constant | generated (raw columns: raw)
    indirect: dict[str, list[Edge]]  # node -> columns only filtering, joining, grouping
    # a built column -> a digest of the SQL that makes it (elt.lineage.sql): equal digests in
    # two builds compute the column the same way
    signatures: dict[ColumnRef, str] = dataclasses.field(default_factory=dict)

    def find(self, name: str) -> ColumnRef:
        """``model.column`` (or ``source_name.table.column``) as a reference."""
        node_name, _, column = name.rpartition(".")
        for node in self.nodes.values():
            if node.name == node_name or node.unique_id == node_name:
                if column in self.columns.get(node.unique_id, []):
                    return ColumnRef(node.unique_id, column)
                known = ", ".join(self.columns.get(node.unique_id, [])) or "none known"
                raise LoaderError(f"{node.name} has no column {column!r} (its columns: {known})")
        raise LoaderError(f"no model, seed or source named {node_name!r} (write model.column)")

    def built(self) -> list[str]:
        """The models and snapshots (what has lineage of its own)."""
        return [uid for uid, n in self.nodes.items() if n.resource_type in BUILT]

    def label(self, ref: ColumnRef) -> str:
        return f"{self.nodes[ref.node].name}.{ref.column}"

    def is_mart(self, node: str) -> bool:
        return self.nodes[node].layer == "marts"

    def upstream(self, ref: ColumnRef) -> Iterator[tuple[int, Edge]]:
        """Depth-first, from ``ref`` to the raw columns: (depth, edge) for every edge crossed."""
        seen: set[ColumnRef] = set()

        def walk(at: ColumnRef, depth: int) -> Iterator[tuple[int, Edge]]:
            for edge in self.edges.get(at, []):
                yield depth, edge
                if edge.source not in seen:
                    seen.add(edge.source)
                    yield from walk(edge.source, depth + 1)

        yield from walk(ref, 0)

    def raw_sources(self, ref: ColumnRef) -> set[ColumnRef]:
        """The raw (source or seed) columns ``ref`` is made of."""
        found = {e.source for _, e in self.upstream(ref)}
        return {r for r in found if self.nodes[r.node].resource_type in RAW}

    def downstream(self, ref: ColumnRef) -> set[ColumnRef]:
        """Every built column made (directly, through any number of models) from ``ref``."""
        users: dict[ColumnRef, set[ColumnRef]] = {}
        for target, edges in self.edges.items():
            for edge in edges:
                users.setdefault(edge.source, set()).add(target)
        reached: set[ColumnRef] = set()
        todo = [ref]
        while todo:
            for user in users.get(todo.pop(), ()):
                if user not in reached:
                    reached.add(user)
                    todo.append(user)
        return reached

    def marts_reached(self, ref: ColumnRef) -> list[ColumnRef]:
        return sorted(r for r in self.downstream(ref) if self.is_mart(r.node))


def _layer(node: dict[str, Any]) -> str:
    kind = str(node["resource_type"])
    if kind in ("source", "seed", "snapshot"):
        return kind + "s"
    fqn = node.get("fqn") or []
    return str(fqn[1]) if len(fqn) > 2 else "models"


def _relation(node: dict[str, Any]) -> Table:
    name = node.get("identifier") if node["resource_type"] == "source" else node.get("alias")
    return (
        str(node.get("database") or "").lower(),
        str(node.get("schema") or "").lower(),
        str(name or node["name"]).lower(),
    )


def _name(node: dict[str, Any]) -> str:
    if node["resource_type"] == "source":
        return f"{node['source_name']}.{node['name']}"
    return str(node["name"])


def _catalog_columns(catalog: dict[str, Any] | None, unique_id: str) -> list[str]:
    if not catalog:
        return []
    entry = catalog.get("nodes", {}).get(unique_id) or catalog.get("sources", {}).get(unique_id)
    if not entry:
        return []
    columns = sorted(entry.get("columns", {}).values(), key=lambda c: c.get("index", 0))
    return [str(c["name"]).lower() for c in columns]


def _build_order(nodes: dict[str, dict[str, Any]]) -> list[str]:
    order: list[str] = []
    done: set[str] = set()

    def visit(uid: str) -> None:
        if uid in done or uid not in nodes:
            return
        done.add(uid)
        for parent in nodes[uid].get("depends_on", {}).get("nodes", []):
            visit(parent)
        order.append(uid)

    for uid in sorted(nodes):
        visit(uid)
    return order


def compute(
    manifest: dict[str, Any],
    catalog: dict[str, Any] | None = None,
    only: set[str] | None = None,
    known: Mapping[Table, list[str]] | None = None,
) -> ProjectLineage:
    """The lineage of every column of every model, snapshot, seed and source; or (``only``)
    of those models alone, the others' columns read from ``known`` (relation -> its columns,
    as the warehouse lists them) where it has them."""
    adapter = str(manifest.get("metadata", {}).get("adapter_type", ""))
    dialect = DIALECTS.get(adapter)
    if dialect is None:
        raise LoaderError(f"column lineage: no SQL dialect known for the {adapter!r} adapter")
    everything = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    kept = {uid: n for uid, n in everything.items() if n["resource_type"] in BUILT + RAW}
    nodes = {
        uid: Node(
            uid,
            _name(n),
            n["resource_type"],
            _layer(n),
            _relation(n),
            n.get("description", ""),
            {c.lower(): v.get("description", "") for c, v in (n.get("columns") or {}).items()},
        )
        for uid, n in kept.items()
    }
    by_relation = {node.relation: uid for uid, node in nodes.items()}
    # SQL that names a relation without its database (Spark; or a hand-written reference)
    by_name = {node.relation[1:]: uid for uid, node in nodes.items()}
    columns: dict[str, list[str]] = {}
    origins: dict[ColumnRef, str] = {}
    for uid, n in kept.items():
        if n["resource_type"] in RAW:
            columns[uid] = (
                _catalog_columns(catalog, uid)
                or list((known or {}).get(nodes[uid].relation, []))
                or [c.lower() for c in n.get("columns", {})]
            )
            origins.update({ColumnRef(uid, c): "raw" for c in columns[uid]})
    schema: dict[Table, dict[str, str]] = {
        nodes[uid].relation: dict.fromkeys(cols, "text") for uid, cols in columns.items()
    }
    edges: dict[ColumnRef, list[Edge]] = {}
    indirect: dict[str, list[Edge]] = {}
    signatures: dict[ColumnRef, str] = {}

    def resolve(used: Input, own: Table) -> ColumnRef | None:
        """The manifest's column an input is; None for the model itself (an incremental model
        reading its own rows) and for relations outside the project."""
        if used.table == own:
            return None
        uid = by_relation.get(used.table) or by_name.get(used.table[1:])
        return ColumnRef(uid, used.column) if uid else None

    for uid in _build_order({u: n for u, n in kept.items() if n["resource_type"] in BUILT}):
        n, own = kept[uid], nodes[uid].relation
        if only is not None and uid not in only and (known or {}).get(own):
            columns[uid] = list((known or {})[own])
            schema[own] = dict.fromkeys(columns[uid], "text")
            continue
        sql = n.get("compiled_code")
        if not sql:
            raise LoaderError(
                f"{n['name']} has no compiled SQL in the manifest: run `dbt compile` (or "
                "`make docs`) first"
            )
        # the schema of what it reads (its parents), not the whole project's: sqlglot
        # normalizes the schema it is given, once per query
        parents = [p for p in n.get("depends_on", {}).get("nodes", []) if p in nodes]
        read = {
            nodes[p].relation: schema[nodes[p].relation]
            for p in parents
            if nodes[p].relation in schema
        }
        query = query_lineage(sql, dialect, read, n["name"])
        names = list(query.columns)
        if "*" in names:
            raise LoaderError(
                f"column lineage of {n['name']}: a `select *` reads a relation whose columns "
                "are unknown (not a model, seed or source of the project, or a source whose "
                "YAML lists no columns: `make docs` writes the catalog that has them)"
            )
        if n["resource_type"] == "snapshot":
            names += [c for c in SNAPSHOT_COLUMNS if c not in names]
        columns[uid] = names
        schema[own] = dict.fromkeys(names, "text")
        for column in names:
            inputs = query.columns.get(column, set())
            made = [Edge(r, i.kind) for i in sorted(inputs) if (r := resolve(i, own))]
            edges[ColumnRef(uid, column)] = made
            signatures[ColumnRef(uid, column)] = query.signatures.get(column, "")
            origin = query.origins.get(column, GENERATED)
            inherited = {origins.get(e.source) for e in made}
            if made and inherited <= {CONSTANT, GENERATED}:
                # made only of columns that are themselves constant or generated (an optional
                # raw column the staging model reads as null while the raw table lacks it)
                origin = GENERATED if GENERATED in inherited else CONSTANT
            origins[ColumnRef(uid, column)] = origin if made or origin != DERIVED else GENERATED
        indirect[uid] = [Edge(r, i.kind) for i in sorted(query.indirect) if (r := resolve(i, own))]
    return ProjectLineage(dialect, nodes, columns, edges, origins, indirect, signatures)


def artifacts(target_dir: Path) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """dbt's manifest in ``target_dir``, and its catalog when ``dbt docs generate`` wrote one."""
    manifest_path = target_dir / "manifest.json"
    if not manifest_path.is_file():
        raise LoaderError(f"{manifest_path} does not exist: run `make docs` (or dbt compile) first")
    catalog_path = target_dir / "catalog.json"
    catalog = json.loads(catalog_path.read_text()) if catalog_path.is_file() else None
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    return manifest, catalog


def load(target_dir: Path) -> ProjectLineage:
    """The lineage from dbt's artifacts in ``target_dir``."""
    return compute(*artifacts(target_dir))


__all__ = [
    "CONSTANT",
    "DERIVED",
    "GENERATED",
    "ColumnRef",
    "Edge",
    "ProjectLineage",
    "compute",
    "load",
]
