"""What the audit compares and gates, read from the dbt manifest (the YAML is the one source).

A mart's ``config.meta.audit`` declares its key, its business date and its daily totals
(``models/marts/sales/_sales__models.yml``); ``meta.audit_gates`` (set for every mart in
``dbt_project.yml``, overridable per mart) holds the thresholds. A source table's
``config.meta.audit`` says whether it must arrive with every load and whether it is a full
extract; ``meta.audit_volume`` (``dbt_project.yml``) holds the volume thresholds.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from elt.declared_tests import UNIQUE, column_rules
from elt.errors import LoaderError

# columns that change whenever a row is rebuilt, not when its content does
METADATA_COLUMNS = frozenset({"source_loaded_at", "measured_at", "_loaded_at"})


@dataclasses.dataclass(frozen=True)
class Band:
    ratio: float  # the value is this many times above or below the baseline median ...
    mad: float  # ... and this many robust deviations (1.4826 x MAD) away from it


@dataclasses.dataclass(frozen=True)
class Gates:
    baseline_weeks: int = 8
    min_baseline_days: int = 4
    warn: Band = Band(2.0, 6.0)
    block: Band = Band(5.0, 12.0)
    restated_after_days: int = 7
    restated_warn: float = 0.005
    restated_block: float = 0.02


@dataclasses.dataclass(frozen=True)
class Total:
    name: str
    expression: str  # SQL aggregate over the mart's rows
    floor: float  # a deviation smaller than this is never flagged (small numbers are noisy)


@dataclasses.dataclass(frozen=True)
class MartSpec:
    name: str
    key: tuple[str, ...]  # empty: rows are counted, not compared
    business_date: str | None  # a column or SQL expression giving the row's business day
    totals: tuple[Total, ...]
    segments: tuple[str, ...]
    gates: Gates


@dataclasses.dataclass(frozen=True)
class SourceSpec:
    name: str  # source.table, as the loader's manifest names it
    every_load: bool  # a load that brings other tables but not this one is incomplete
    full_extract: bool  # identical content on two days is a legitimate observation
    baseline_files: int
    min_baseline_files: int
    warn_ratio: float
    block_ratio: float


def _band(value: Any, default: Band, where: str) -> Band:
    if value is None:
        return default
    if not isinstance(value, dict):
        raise LoaderError(f"{where}: expected {{ratio: ..., mad: ...}}, got {value!r}")
    return Band(float(value.get("ratio", default.ratio)), float(value.get("mad", default.mad)))


def gates_of(meta: dict[str, Any], where: str) -> Gates:
    raw = meta.get("audit_gates") or {}
    d = Gates()
    try:
        return Gates(
            baseline_weeks=int(raw.get("baseline_weeks", d.baseline_weeks)),
            min_baseline_days=int(raw.get("min_baseline_days", d.min_baseline_days)),
            warn=_band(raw.get("warn"), d.warn, f"{where} audit_gates.warn"),
            block=_band(raw.get("block"), d.block, f"{where} audit_gates.block"),
            restated_after_days=int(raw.get("restated_after_days", d.restated_after_days)),
            restated_warn=float(raw.get("restated_warn", d.restated_warn)),
            restated_block=float(raw.get("restated_block", d.restated_block)),
        )
    except (TypeError, ValueError) as exc:
        raise LoaderError(f"{where}: meta.audit_gates: {exc}") from None


def _unique_columns(manifest: dict[str, Any], unique_id: str) -> list[str]:
    """Columns of the model with a ``unique`` test: its key when the YAML names none."""
    owner = manifest["nodes"][unique_id]["name"]
    names = {unique_id: owner}
    found = []
    for node in manifest["nodes"].values():
        if node["resource_type"] == "test" and node.get("attached_node") == unique_id:
            found += [r.column for r in column_rules(node, owner, names) if r.kind == UNIQUE]
    return sorted(found)


def mart_spec(manifest: dict[str, Any], unique_id: str) -> MartSpec:
    node = manifest["nodes"][unique_id]
    name = node.get("alias") or node["name"]
    meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
    where = f"{node['original_file_path']} ({node['name']})"
    audit = meta.get("audit") or {}
    if not isinstance(audit, dict):
        raise LoaderError(f"{where}: meta.audit must be a mapping")
    key = audit.get("key")
    if key is None:
        uniques = _unique_columns(manifest, unique_id)
        key = uniques[:1]
    totals = []
    for total_name, declared in (audit.get("totals") or {}).items():
        if isinstance(declared, str):
            declared = {"expression": declared}
        if not isinstance(declared, dict) or not declared.get("expression"):
            raise LoaderError(f"{where}: meta.audit.totals.{total_name} needs an expression")
        totals.append(
            Total(str(total_name), str(declared["expression"]), float(declared.get("floor", 0)))
        )
    if totals and not audit.get("business_date"):
        raise LoaderError(f"{where}: meta.audit.totals need meta.audit.business_date")
    return MartSpec(
        name=name,
        key=tuple(str(k) for k in key),
        business_date=audit.get("business_date"),
        totals=tuple(totals),
        segments=tuple(str(s) for s in audit.get("segments") or ()),
        gates=gates_of(meta, where),
    )


def source_specs(manifest: dict[str, Any]) -> list[SourceSpec]:
    """Every source table the loader fills (``meta.elt``), with its audit settings."""
    specs = []
    for source in manifest.get("sources", {}).values():
        meta = (source.get("config") or {}).get("meta") or source.get("meta") or {}
        if "elt" not in meta:
            continue
        audit = meta.get("audit") or {}
        volume = meta.get("audit_volume") or {}
        specs.append(
            SourceSpec(
                name=f"{source['source_name']}.{source['name']}",
                every_load=bool(audit.get("every_load", False)),
                full_extract=bool(audit.get("full_extract", False)),
                baseline_files=int(volume.get("baseline_files", 20)),
                min_baseline_files=int(volume.get("min_baseline_files", 3)),
                warn_ratio=float((volume.get("warn") or {}).get("ratio", 2.0)),
                block_ratio=float((volume.get("block") or {}).get("ratio", 5.0)),
            )
        )
    return sorted(specs, key=lambda s: s.name)
