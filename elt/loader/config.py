"""Loader settings per raw table, read from the dbt sources (``meta.elt``): one source of truth.

A source table is loaded when its YAML carries, under ``config.meta.elt`` (or ``meta.elt``)::

    path: shop/orders/*/*.csv     # glob, relative to the data directory (.gz/.zst also match)
    format: csv                    # csv | jsonl | parquet
    delimiter: ","                 # optional, CSV only
    retention: {days: 90, action: archive}  # optional: `elt archive` (archive | delete)

Any other key is an error (a misspelt setting must not be ignored).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from elt.loader.errors import LoaderError

FORMATS = ("csv", "jsonl", "parquet")
SETTINGS = ("path", "format", "delimiter", "retention")
RETENTION_ACTIONS = ("archive", "delete")


@dataclasses.dataclass(frozen=True)
class Retention:
    """How long loaded files stay in the data directory, and where they go then."""

    days: int
    action: str  # archive | delete


@dataclasses.dataclass(frozen=True)
class SourceTable:
    source: str  # dbt source name, e.g. shop
    name: str  # dbt table name, e.g. orders
    schema: str  # schema of the raw table, e.g. raw
    identifier: str  # raw table name, e.g. shop__orders
    path: str
    format: str
    delimiter: str = ","
    defined_in: str = ""
    retention: Retention | None = None

    @property
    def label(self) -> str:
        return f"{self.source}.{self.name}"


def _elt_meta(table: dict[str, Any]) -> dict[str, Any] | None:
    for holder in (table.get("config") or {}, table):
        meta = holder.get("meta") or {}
        if "elt" in meta:
            return dict(meta["elt"])
    return None


def _table(
    source: dict[str, Any], table: dict[str, Any], meta: dict[str, Any], where: str
) -> SourceTable:
    label = f"{source.get('name')}.{table.get('name')} in {where}"
    unknown = sorted(str(k) for k in meta if k not in SETTINGS)
    if unknown:
        raise LoaderError(
            f"{label}: meta.elt has unknown setting(s) {', '.join(unknown)}; the settings are {', '.join(SETTINGS)}"
        )
    missing = [k for k in ("path", "format") if not meta.get(k)]
    if missing:
        raise LoaderError(f"{label}: meta.elt lacks {', '.join(missing)}")
    fmt = str(meta["format"]).lower()
    if fmt not in FORMATS:
        raise LoaderError(f"{label}: meta.elt.format {fmt!r} is not one of {', '.join(FORMATS)}")
    delimiter = str(meta.get("delimiter", ","))
    if len(delimiter) != 1:
        raise LoaderError(f"{label}: meta.elt.delimiter must be one character, got {delimiter!r}")
    retention = _retention(label, meta.get("retention"))
    return SourceTable(
        source=str(source["name"]),
        name=str(table["name"]),
        schema=str(source.get("schema") or source["name"]),
        identifier=str(table.get("identifier") or table["name"]),
        path=str(meta["path"]),
        format=fmt,
        delimiter=delimiter,
        defined_in=where,
        retention=retention,
    )


def _retention(label: str, value: Any) -> Retention | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"days", "action"} or "days" not in value:
        raise LoaderError(
            f"{label}: meta.elt.retention must be {{days: N, action: archive|delete}}, got {value!r}"
        )
    days, action = value["days"], str(value.get("action", "archive"))
    if not isinstance(days, int) or days < 0 or action not in RETENTION_ACTIONS:
        raise LoaderError(
            f"{label}: meta.elt.retention needs days >= 0 and action archive or delete, got {value!r}"
        )
    return Retention(days, action)


def load_sources(project_dir: Path) -> list[SourceTable]:
    """Every source table with loader settings, from the YAML files under ``models/``."""
    models = project_dir / "models"
    if not models.is_dir():
        raise LoaderError(f"no dbt models directory at {models} (use --project-dir)")
    tables: list[SourceTable] = []
    for path in sorted(models.rglob("*.yml")) + sorted(models.rglob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise LoaderError(f"{path}: invalid YAML: {exc}") from None
        for source in doc.get("sources") or []:
            for table in source.get("tables") or []:
                meta = _elt_meta(table)
                if meta is not None:
                    tables.append(_table(source, table, meta, str(path.relative_to(project_dir))))
    seen: dict[tuple[str, str], SourceTable] = {}
    for t in tables:
        other = seen.setdefault((t.schema, t.identifier), t)
        if other is not t:
            raise LoaderError(
                f"{t.label} ({t.defined_in}) and {other.label} ({other.defined_in}) both load {t.schema}.{t.identifier}"
            )
    if not tables:
        raise LoaderError(f"no source table under {models} has loader settings (meta.elt)")
    return tables
