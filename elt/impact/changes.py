"""Which models and columns a change touches, from two dbt manifests: production's (the state
slim CI compares against) and the CI build's.

A CI build (`state:modified+ --defer`) compiles only what it builds; the rest of its lineage
comes from production's manifest, whose relations its deferred references name. A column
changed when the expressions that make it differ (elt.lineage signatures: comments, schemas,
filters and joins left out); a column that vanished while another with the same expressions
appeared was renamed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from elt.lineage.project import ColumnRef, ProjectLineage, compute
from elt.lineage.sql import Table


@dataclasses.dataclass
class ModelChange:
    unique_id: str
    name: str
    status: str  # modified | downstream | added | removed
    columns_changed: list[str]
    columns_added: list[str]
    columns_removed: list[str]
    renamed: dict[str, str]  # old name -> new name

    @property
    def columns(self) -> list[str]:
        """Every column of the CI build whose value may differ: changed, added, renamed to."""
        return [*self.columns_changed, *self.columns_added, *self.renamed.values()]


def merged(ci: dict[str, Any], prod: dict[str, Any]) -> dict[str, Any]:
    """The CI build's project, its unbuilt models as production compiled them."""
    nodes = {}
    for uid, node in ci["nodes"].items():
        if not node.get("compiled_code") and uid in prod.get("nodes", {}):
            nodes[uid] = prod["nodes"][uid]
        else:
            nodes[uid] = node
    return {**ci, "nodes": nodes}


def lineages(
    ci: dict[str, Any],
    prod: dict[str, Any],
    built: set[str],
    known: Mapping[Table, list[str]] | None = None,
) -> tuple[ProjectLineage, ProjectLineage]:
    """Production's lineage and the CI build's, of the models the CI build rebuilt (the
    others' columns as the warehouse lists them, in ``known``)."""
    return compute(prod, only=built, known=known), compute(
        merged(ci, prod), only=built, known=known
    )


def edited(ci: dict[str, Any], prod: dict[str, Any]) -> set[str]:
    """The nodes whose own code or configuration the change edited (dbt's checksums)."""
    old = prod.get("nodes", {})
    return {
        uid
        for uid, node in ci["nodes"].items()
        if uid not in old or node.get("checksum") != old[uid].get("checksum")
    }


def model_changes(
    before: ProjectLineage, after: ProjectLineage, built: set[str], edits: set[str]
) -> list[ModelChange]:
    """The models the CI build rebuilt, each with the columns it changed (status modified when
    its own file changed, downstream when only what it reads did); models production has and
    CI no longer has, as removed."""
    changes = []
    for uid in sorted(built):
        if uid not in after.nodes or after.nodes[uid].resource_type not in ("model", "snapshot"):
            continue
        new_columns = after.columns.get(uid, [])
        if uid not in before.nodes:
            changes.append(
                ModelChange(uid, after.nodes[uid].name, "added", [], list(new_columns), [], {})
            )
            continue
        old_columns = before.columns.get(uid, [])
        sig_before = {c: before.signatures.get(ColumnRef(uid, c)) for c in old_columns}
        sig_after = {c: after.signatures.get(ColumnRef(uid, c)) for c in new_columns}
        added = [c for c in new_columns if c not in sig_before]
        removed = [c for c in old_columns if c not in sig_after]
        renamed = {}
        for old in list(removed):
            twin = next(
                (n for n in added if sig_after[n] and sig_after[n] == sig_before[old]), None
            )
            if twin is not None:
                renamed[old] = twin
                removed.remove(old)
                added.remove(twin)
        changed = [c for c in new_columns if c in sig_before and sig_before[c] != sig_after[c]]
        status = "modified" if uid in edits else "downstream"
        changes.append(
            ModelChange(uid, after.nodes[uid].name, status, changed, added, removed, renamed)
        )
    for uid, node in before.nodes.items():
        if uid not in after.nodes and node.resource_type == "model":
            changes.append(
                ModelChange(uid, node.name, "removed", [], [], list(before.columns[uid]), {})
            )
    return changes


def reached(after: ProjectLineage, changes: list[ModelChange]) -> dict[str, dict[str, list[str]]]:
    """Mart -> its column -> the changed columns (model.column) it is made from, through column
    lineage (a changed mart column reaches itself)."""
    found: dict[str, dict[str, set[str]]] = {}
    for change in changes:
        if change.status == "removed":
            continue
        for column in change.columns:
            ref = ColumnRef(change.unique_id, column)
            hits = set(after.downstream(ref)) | {ref}
            for hit in hits:
                if hit.node in after.nodes and after.is_mart(hit.node):
                    mart = after.nodes[hit.node].name
                    found.setdefault(mart, {}).setdefault(hit.column, set()).add(after.label(ref))
    return {
        mart: {column: sorted(sources) for column, sources in sorted(columns.items())}
        for mart, columns in sorted(found.items())
    }


@dataclasses.dataclass(frozen=True)
class Exposure:
    name: str
    label: str
    models: tuple[str, ...]  # the marts it reads
    uses: dict[str, tuple[str, ...]]  # mart -> the columns it reads (meta.uses); absent: all


def exposures(manifest: dict[str, Any]) -> list[Exposure]:
    names = {uid: n["name"] for uid, n in manifest["nodes"].items()}
    found = []
    for exposure in manifest.get("exposures", {}).values():
        meta = (exposure.get("config") or {}).get("meta") or exposure.get("meta") or {}
        uses = {str(m): tuple(str(c) for c in cols) for m, cols in (meta.get("uses") or {}).items()}
        found.append(
            Exposure(
                exposure["name"],
                exposure.get("label") or exposure["name"],
                tuple(names[d] for d in exposure["depends_on"]["nodes"] if d in names),
                uses,
            )
        )
    return sorted(found, key=lambda e: e.name)
