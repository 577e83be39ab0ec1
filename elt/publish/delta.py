"""The published marts as Delta tables, for lake readers (ELT_DELTA_DIR; off when unset).

    <ELT_DELTA_DIR>/<prefix>analytics/fct_order_items/   a Delta table per mart
    <ELT_DELTA_DIR>/<prefix>analytics/_elt_versions.json published version -> Delta version

Each publication, and each rollback, writes what analysts now read as one new Delta version
of every mart (an overwrite, its commit tagged ``elt.version`` and ``elt.operation``), so the
latest Delta version is always the published one and a lake reader time-travels to any kept
version. The data comes from the engine's published copy as Arrow (DuckDB's version file,
PostgreSQL's version schema, Spark's Parquet files): delta-rs writes it without a JVM. Old
files are vacuumed down to what the kept versions need, as `elt publish` prunes versions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa

from elt.environment import Environment
from elt.errors import LoaderError
from elt.publish.records import write_json
from elt.publish.versions import Version

VERSIONS_FILE = "_elt_versions.json"


def folder(lake: Path, env: Environment) -> Path:
    return lake / env.published_schema


def delta_versions(lake: Path, env: Environment) -> dict[str, dict[str, int]]:
    """Published version (as text) -> {mart: its Delta version}."""
    path = folder(lake, env) / VERSIONS_FILE
    if not path.exists():
        return {}
    data: dict[str, dict[str, int]] = json.loads(path.read_text())
    return data


def _for_delta(table: pa.Table) -> pa.Table:
    """Arrow types Delta stores: timestamps in microseconds (Spark's INT96 reads as ns)."""
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_timestamp(kind) and kind.unit != "us":
            kind = pa.timestamp("us", tz=kind.tz)
        fields.append(pa.field(field.name, kind, field.nullable))
    return table.cast(pa.schema(fields))


def write(
    lake: Path,
    env: Environment,
    version: Version,
    marts: Iterable[tuple[str, pa.Table]],
    operation: str,
) -> dict[str, int]:
    """Every mart of ``version`` as a new Delta version; returns mart -> its Delta version."""
    from deltalake import CommitProperties, DeltaTable, write_deltalake

    base = folder(lake, env)
    base.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in marts:
        path = base / name
        try:
            write_deltalake(
                path,
                _for_delta(table),
                mode="overwrite",
                schema_mode="overwrite",
                commit_properties=CommitProperties(
                    custom_metadata={"elt.version": str(version.number), "elt.operation": operation}
                ),
            )
            written[name] = int(DeltaTable(path).version())
        except Exception as exc:  # noqa: BLE001 - delta-rs raises its own and Arrow's errors
            raise LoaderError(f"Delta: cannot write {path}: {str(exc).splitlines()[0]}") from None
    kept = delta_versions(lake, env)
    kept[str(version.number)] = written
    write_json(base / VERSIONS_FILE, kept)
    return written


def vacuum(lake: Path, env: Environment, kept: list[Version]) -> None:
    """Delete the Delta files no kept version needs (time travel to a pruned version ends
    with it): the mapping of the kept versions names the Delta versions to keep."""
    from deltalake import DeltaTable

    mapping = delta_versions(lake, env)
    numbers = [str(v.number) for v in kept if str(v.number) in mapping]
    base = folder(lake, env)
    for name in sorted({mart for n in numbers for mart in mapping[n]}):
        path = base / name
        if not path.exists():
            continue
        keep = sorted({mapping[n][name] for n in numbers if name in mapping[n]})
        DeltaTable(path).vacuum(
            retention_hours=0,
            dry_run=False,
            enforce_retention_duration=False,
            keep_versions=keep,
        )
    write_json(base / VERSIONS_FILE, {n: mapping[n] for n in numbers})
