"""``elt archive``: the storage lifecycle of loaded files (cost), without losing the rebuild.

A file the manifest says was loaded, longer ago than a source's retention, leaves the data
directory in one of two ways, per source (``meta.elt.retention``) or for one run (options):

- ``archive`` (default): it is kept in the archive directory, at the same relative path, as
  a zstd-compressed Parquet file of its lines (``<rel>.parquet``, one row per line, the exact
  bytes); a file that is already gzip/zstd compressed is moved as it is. ``elt archive
  --restore`` writes the files back byte for byte (checked against the manifest's sha256),
  so the raw tables can always be rebuilt from files.
- ``delete``: it is removed. The manifest keeps its row (so it is never loaded twice), but
  its raw rows can no longer be rebuilt from files: the warehouse (and its backups) holds
  the only copy.

A file whose content no longer matches the manifest's hash is left alone and reported. The
archive directory holds a ``.elt-archive`` marker: even inside the data directory, no load
pattern reads from it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from elt.errors import LoaderError
from elt.loader.bookkeeping import FileStatus
from elt.loader.config import Retention, SourceTable
from elt.loader.files import ARCHIVE_MARKER, COMPRESSED_SUFFIXES, discover
from elt.loader.warehouse import ManifestEntry, ManifestKey, raw_table_of
from elt.warehouse.profile import Target

LINES_KEY = b"elt.file"  # Parquet metadata of a file archived as its lines


@dataclasses.dataclass
class Archived:
    rel: str
    action: str  # archived | deleted | restored | skipped
    bytes_before: int = 0
    bytes_after: int = 0
    message: str = ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _as_is(table: SourceTable, rel: str) -> bool:
    """Parquet and gzip/zstd files are compressed already: archived as they are."""
    return table.format == "parquet" or rel.endswith(COMPRESSED_SUFFIXES)


def archive_path(table: SourceTable, archive_dir: Path, rel: str) -> Path:
    return archive_dir / rel if _as_is(table, rel) else archive_dir / (rel + ".parquet")


def mark_archive(archive_dir: Path) -> None:
    """The archive's folder is marked: a load whose pattern reaches into it never reads it."""
    archive_dir.mkdir(parents=True, exist_ok=True)
    marker = archive_dir / ARCHIVE_MARKER
    if not marker.exists():
        marker.write_text("Files archived by `elt archive`: never loaded from here.\n")


def _write_parquet(raw: bytes, rel: str, sha256: str, path: Path) -> None:
    lines = raw.split(b"\n")
    keeps = [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    table = pa.table(
        {
            "line_number": pa.array(range(1, len(keeps) + 1), pa.int64()),
            "line": pa.array(keeps, pa.binary()),
        }
    ).replace_schema_metadata({LINES_KEY: rel, b"elt.sha256": sha256})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _read_lines(path: Path) -> tuple[str, bytes] | None:
    """(rel, bytes) of a file archived as its lines; None for any other file."""
    try:
        metadata = pq.read_schema(path).metadata or {}
    except (OSError, pa.ArrowException):
        return None
    if LINES_KEY not in metadata:
        return None
    table = pq.read_table(path)
    return metadata[LINES_KEY].decode(), b"".join(table.column("line").to_pylist())


def archive(
    tables: list[SourceTable],
    data_dir: Path,
    archive_dir: Path | None,
    manifest: dict[ManifestKey, ManifestEntry],
    retention: dict[SourceTable, Retention],
    now: dt.datetime,
) -> list[Archived]:
    """Archive or delete the files loaded longer ago than their table's retention."""
    out: list[Archived] = []
    for table in tables:
        rule = retention.get(table)
        if rule is None:
            continue
        if rule.action == "archive" and archive_dir is None:
            raise LoaderError(
                f"{table.label}: retention archives files: set --archive-dir or ELT_ARCHIVE_DIR"
            )
        cutoff = now - dt.timedelta(days=rule.days)
        for found in discover(table, data_dir):
            entry = manifest.get((raw_table_of(table), found.rel))
            if found.outside or found.same_as or entry is None or entry.status != FileStatus.LOADED:
                continue
            if entry.finished_at is None or entry.finished_at > cutoff:
                continue
            raw = found.path.read_bytes()
            if _sha256(raw) != entry.sha256:
                out.append(
                    Archived(
                        found.rel,
                        "skipped",
                        len(raw),
                        message="content differs from the loaded file; left in place",
                    )
                )
                continue
            if rule.action == "delete":
                found.path.unlink()
                out.append(Archived(found.rel, "deleted", len(raw)))
                continue
            assert archive_dir is not None
            mark_archive(archive_dir)
            target = archive_path(table, archive_dir, found.rel)
            if _as_is(table, found.rel):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(raw)
                restored = target.read_bytes()
            else:
                _write_parquet(raw, found.rel, entry.sha256, target)
                lines = _read_lines(target)
                restored = lines[1] if lines else b""
            if _sha256(restored) != entry.sha256:  # never delete what the archive cannot give back
                target.unlink()
                raise LoaderError(
                    f"{found.rel}: the archived copy does not restore byte for byte; file kept"
                )
            found.path.unlink()
            out.append(Archived(found.rel, "archived", len(raw), target.stat().st_size))
    return out


def restore(
    archive_dir: Path,
    data_dir: Path,
    manifest: dict[ManifestKey, ManifestEntry],
    only: set[str] | None = None,
) -> list[Archived]:
    """Write archived files back into the data directory, checked against the manifest."""
    out: list[Archived] = []
    by_rel: dict[str, list[ManifestEntry]] = {}
    for e in manifest.values():
        by_rel.setdefault(e.rel, []).append(e)
    for path in sorted(archive_dir.rglob("*")):
        if not path.is_file() or path.name.endswith(".part") or path.name == ARCHIVE_MARKER:
            continue
        lines = _read_lines(path) if path.suffix == ".parquet" else None
        rel, raw = lines if lines else (str(path.relative_to(archive_dir)), path.read_bytes())
        if only is not None and rel not in only:
            continue
        digest = _sha256(raw)
        entry = next((e for e in by_rel.get(rel, []) if e.sha256 == digest), None)
        if entry is None:
            out.append(
                Archived(
                    rel, "skipped", message="not in the manifest with this content; not restored"
                )
            )
            continue
        target = data_dir / rel
        if target.exists():
            out.append(Archived(rel, "skipped", message="already in the data directory"))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(raw)
        if entry.modified_at is not None:  # the time it had when loaded: a complete file
            stamp = entry.modified_at.timestamp()
            os.utime(target, (stamp, stamp))
        out.append(Archived(rel, "restored", path.stat().st_size, len(raw)))
    return out


def run_archive(
    project_dir: Path,
    data_dir: Path,
    archive_dir: Path | None,
    target: Target,
    tables: tuple[str, ...] = (),
    older_than_days: int | None = None,
    delete: bool = False,
    restore_files: bool = False,
    lock_timeout: float = 60.0,
    now: dt.datetime | None = None,
) -> list[Archived]:
    """``elt archive``: under the loader's lock (no load reads a file while it moves), read the
    manifest, then archive, delete or restore. ``older_than_days`` (and ``delete``) override
    the sources' own retention for the tables selected."""
    from elt.loader.config import load_sources
    from elt.loader.run import DEFAULT_META_SCHEMA, open_warehouse, select_tables

    chosen = select_tables(load_sources(project_dir), tables)
    if not data_dir.is_dir():
        raise LoaderError(
            f"data directory {data_dir} does not exist (use --data-dir or ELT_DATA_DIR)"
        )
    if restore_files and archive_dir is None:
        raise LoaderError("--restore needs --archive-dir (or ELT_ARCHIVE_DIR)")
    warehouse = open_warehouse(target, lock_timeout)
    try:
        with warehouse.lock(lock_timeout):
            warehouse.prepare({t.schema for t in chosen} | {DEFAULT_META_SCHEMA})
            manifest = warehouse.manifest()
            if restore_files:
                assert archive_dir is not None
                labels = {t.label for t in chosen}
                wanted = {
                    e.rel for e in manifest.values() if not tables or e.source_table in labels
                }
                return restore(archive_dir, data_dir, manifest, wanted)
            if older_than_days is not None:
                rule = Retention(older_than_days, "delete" if delete else "archive")
                retention = dict.fromkeys(chosen, rule)
            else:
                retention = {t: t.retention for t in chosen if t.retention is not None}
            return archive(
                chosen, data_dir, archive_dir, manifest, retention, now or dt.datetime.now(dt.UTC)
            )
    finally:
        warehouse.close()
