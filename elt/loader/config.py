"""Loader settings per raw table, read from the dbt sources (``meta.elt``): one source of truth.

A source table is loaded when its YAML carries, under ``config.meta.elt`` (or ``meta.elt``)::

    path: shop/orders/*/*.csv     # glob, relative to the data directory (.gz/.zst also match)
    format: csv                    # csv | jsonl | parquet
    delimiter: ","                 # optional, CSV only
    retention: {days: 90, action: archive}  # optional: `elt archive` (archive | delete)
    ready: {marker: _SUCCESS}      # optional: how to know a file is complete (see below)

Any other key is an error (a misspelt setting must not be ignored). The path is normalised
(``t/../t/*.csv`` is ``t/*.csv``) and must stay inside the data directory.

Readiness (``ready``): ``marker: NAME`` loads a file only once its folder holds a file named
NAME (written by the sender after the data files); ``quiet_seconds: N`` only once it has not
changed for N seconds. Both may be given. Without ``ready``, a text file whose last line has
no newline is taken for one still being written until it has been quiet for
``UNTERMINATED_QUIET_SECONDS``. Whatever the rule, a file that changes while it loads is
rolled back and left for the next run.

Whether a source is a full extract (``meta.audit.full_extract``: the whole table every
time, so identical content on two days is two observations) is read from the audit's
setting: the same fact, one owner.
"""

from __future__ import annotations

import dataclasses
import posixpath
from pathlib import Path
from typing import Any

import yaml

from elt.errors import LoaderError

FORMATS = ("csv", "jsonl", "parquet")
SETTINGS = ("path", "format", "delimiter", "retention", "ready")
RETENTION_ACTIONS = ("archive", "delete")
UNTERMINATED_QUIET_SECONDS = 60
# libyaml's safe loader when PyYAML has it (ten times faster than the pure-Python one)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclasses.dataclass(frozen=True)
class Readiness:
    """How to know a file is complete (``meta.elt.ready``)."""

    marker: str | None = None  # a file of this name in the file's folder
    quiet_seconds: int | None = None  # no change for this long


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
    ready: Readiness | None = None
    full_extract: bool = False  # meta.audit.full_extract: identical content is a new observation

    @property
    def label(self) -> str:
        return f"{self.source}.{self.name}"


def _meta(table: dict[str, Any], key: str) -> dict[str, Any] | None:
    for holder in (table.get("config") or {}, table):
        meta = holder.get("meta") or {}
        if key in meta:
            return dict(meta[key] or {})
    return None


def _elt_meta(table: dict[str, Any]) -> dict[str, Any] | None:
    return _meta(table, "elt")


def normalised_path(label: str, pattern: str) -> str:
    """The pattern without ``.`` and ``..`` steps; a LoaderError when it leaves the data directory."""
    if pattern.startswith(("/", "\\")) or (len(pattern) > 1 and pattern[1] == ":"):
        raise LoaderError(
            f"{label}: meta.elt.path {pattern!r} is absolute; it must be relative to the data directory"
        )
    norm = posixpath.normpath(pattern)
    if norm == ".." or norm.startswith("../") or norm == ".":
        raise LoaderError(
            f"{label}: meta.elt.path {pattern!r} leaves the data directory; it must match files inside it"
        )
    return norm


def _readiness(label: str, value: Any) -> Readiness | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not value or set(value) - {"marker", "quiet_seconds"}:
        raise LoaderError(
            f"{label}: meta.elt.ready must be {{marker: NAME}} and/or {{quiet_seconds: N}}, got {value!r}"
        )
    marker = value.get("marker")
    quiet = value.get("quiet_seconds")
    if marker is not None and (not isinstance(marker, str) or not marker or "/" in marker):
        raise LoaderError(f"{label}: meta.elt.ready.marker must be a file name, got {marker!r}")
    if quiet is not None and (not isinstance(quiet, int) or isinstance(quiet, bool) or quiet < 0):
        raise LoaderError(
            f"{label}: meta.elt.ready.quiet_seconds must be a whole number >= 0, got {quiet!r}"
        )
    return Readiness(marker, quiet)


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
    audit = _meta(table, "audit") or {}
    return SourceTable(
        source=str(source["name"]),
        name=str(table["name"]),
        schema=str(source.get("schema") or source["name"]),
        identifier=str(table.get("identifier") or table["name"]),
        path=normalised_path(label, str(meta["path"])),
        format=fmt,
        delimiter=delimiter,
        defined_in=where,
        retention=retention,
        ready=_readiness(label, meta.get("ready")),
        full_extract=bool(audit.get("full_extract", False)),
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
        text = path.read_text()
        if "sources:" not in text:  # models' YAML: nothing for the loader (parsing costs)
            continue
        try:
            doc = yaml.load(text, Loader=_SAFE_LOADER) or {}
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
