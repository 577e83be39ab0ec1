"""The Spark loader's files: their names, and the compaction of the raw folders. A night lands
one part file per source file, so a year of nights would leave thousands of small files for
Spark to list and open.

Compaction merges a raw table's committed part files into one ``part-c-<id>.parquet`` once
there are ``min_files`` of them, and the compacted files into one once there are as many
(rows ordered by ``_loaded_at``, so a night's read of the new loads skips the older row
groups): after a load a folder holds at most 2 x (min_files - 1) files. Every raw row names its source file and batch
(``_source_file``, ``_batch_id``), so a compacted file needs no index of its own: a reload of
a file whose rows were compacted, or the sweep after a killed load, rewrites the compacted
file without the rows of batches that are no longer loaded (``purge``).

Rewriting a compacted file and deleting what it replaces is one step for readers through a
journal (``.compaction.json``): the new file is written under a hidden name, the journal
names it and the files it replaces, the new file is renamed into place, the old ones go, the
journal goes. A compaction killed before the rename leaves the old files (the hidden one is
removed); killed after it, the next ``recover`` finishes the deletions. It runs under the
loader's lock, like every change to raw, and is idempotent: a folder with fewer than
``min_files`` uncompacted part files is left as it is.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb

from elt.loader.parse import lit

# a source file's rows (part-<file id>-<batch>), its quarantine and manifest files (no part-)
PART_NAME = re.compile(r"^(?:part-)?([0-9a-f]{20})-(.+)\.parquet$")
COMPACTED = re.compile(r"^part-c-([0-9a-f]{16})\.parquet$")
JOURNAL = ".compaction.json"
DEFAULT_MIN_FILES = 16


def file_id(rel: str) -> str:
    """A source file's id in the names of its files: a hash of its path."""
    return hashlib.sha256(rel.encode("utf-8")).hexdigest()[:20]


def safe_name(value: str) -> str:
    """A batch or invocation id as a file name part (ids are already safe; others are hashed)."""
    return (
        value
        if re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", value)
        else hashlib.sha256(value.encode()).hexdigest()[:32]
    )


@dataclasses.dataclass(frozen=True)
class Compacted:
    folder: Path
    files_before: int
    files_after: int
    rows: int

    def describe(self) -> str:
        return (
            f"{self.folder.parent.name}.{self.folder.name}: {self.files_before} files -> "
            f"{self.files_after} ({self.rows:,} rows rewritten)"
        )


def data_files(folder: Path) -> list[Path]:
    """The Parquet files Spark reads in a raw folder (part files and compacted ones)."""
    return sorted(folder.glob("part-*.parquet"))


def compacted_files(folder: Path) -> list[Path]:
    return [p for p in data_files(folder) if COMPACTED.match(p.name)]


def recover(folder: Path) -> None:
    """Finish or undo a rewrite a killed process left (its journal says which)."""
    journal = folder / JOURNAL
    if not journal.exists():
        return
    plan = json.loads(journal.read_text())
    output = folder / plan["output"]
    if output.exists():  # renamed into place: the old files go
        for name in plan["inputs"]:
            (folder / name).unlink(missing_ok=True)
    (folder / f".{plan['output']}.tmp").unlink(missing_ok=True)
    journal.unlink()


def _rewrite(
    con: duckdb.DuckDBPyConnection, folder: Path, inputs: list[Path], where: str = "true"
) -> int:
    """``inputs`` (their rows matching ``where``) as one new compacted file, in one step for
    readers. Returns the rows written."""
    names = sorted(p.name for p in inputs)
    output = f"part-c-{hashlib.sha256(' '.join(names).encode()).hexdigest()[:16]}.parquet"
    if output in names:  # a purge of a file into itself: a name of its own
        output = f"part-c-{hashlib.sha256(('purged ' + ' '.join(names)).encode()).hexdigest()[:16]}.parquet"
    tmp = folder / f".{output}.tmp"
    files = "[" + ", ".join(lit(str(p)) for p in inputs) + "]"
    written = con.execute(
        f"copy (select * from read_parquet({files}, union_by_name = true) where {where}"
        " order by _loaded_at, _source_file, _row_number)"
        f" to {lit(str(tmp))} (format parquet, compression zstd)"
    ).fetchall()[0][0]
    journal = folder / JOURNAL
    partial = folder / f"{JOURNAL}.partial"
    partial.write_text(json.dumps({"output": output, "inputs": names}))
    os.replace(partial, journal)
    os.replace(tmp, folder / output)
    recover(folder)
    return int(written)


def compact(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    is_loaded: Callable[[str, str], bool],
    min_files: int = DEFAULT_MIN_FILES,
) -> Compacted | None:
    """Merge the folder's committed part files into one compacted file, when there are at
    least ``min_files`` of them (``is_loaded(source_file_id, batch)`` says which are
    committed: a killed load's leftovers never are). None when there is nothing to do."""
    recover(folder)
    before = data_files(folder)
    parts = [
        p
        for p in before
        if (m := PART_NAME.match(p.name)) is not None and is_loaded(m.group(1), m.group(2))
    ]
    rows = _rewrite(con, folder, parts) if len(parts) >= max(min_files, 2) else 0
    # the compacted files in turn, once there are as many: at most 2 x (min_files - 1) files
    # after a load, and the whole table is rewritten once in min_files² nights
    merged = compacted_files(folder)
    if len(merged) >= max(min_files, 2):
        rows = _rewrite(con, folder, merged)
    if not rows and len(data_files(folder)) == len(before):
        return None
    return Compacted(folder, len(before), len(data_files(folder)), rows)


def purge(
    con: duckdb.DuckDBPyConnection, folder: Path, keep: Callable[[str, str], bool]
) -> list[str]:
    """Rewrite each compacted file holding rows of a (source file, batch) ``keep`` refuses
    (a file reloaded since, a load that did not commit) without them. Returns the
    ``source file@batch`` purged."""
    recover(folder)
    purged: list[str] = []
    for path in compacted_files(folder):
        pairs = con.execute(
            f"select distinct _source_file, _batch_id from read_parquet({lit(str(path))})"
        ).fetchall()
        gone = [(s, b) for s, b in pairs if not keep(file_id(str(s)), safe_name(str(b)))]
        if not gone:
            continue
        dropped = " or ".join(
            f"(_source_file = {lit(str(s))} and _batch_id = {lit(str(b))})" for s, b in gone
        )
        _rewrite(con, folder, [path], f"not ({dropped})")
        purged += [f"{s}@{b}" for s, b in gone]
    return purged


def holds(con: duckdb.DuckDBPyConnection, folder: Path, source: str, batch: str) -> bool:
    """Whether a compacted file of the folder holds rows of ``source`` from another batch
    than ``batch`` (a reload must then purge them)."""
    files = compacted_files(folder)
    if not files:
        return False
    found = con.execute(
        f"select 1 from read_parquet([{', '.join(lit(str(p)) for p in files)}])"
        f" where _source_file = {lit(source)} and _batch_id <> {lit(batch)} limit 1"
    ).fetchall()
    return bool(found)


def count_files(folders: Iterable[Path]) -> dict[str, int]:
    """Data files per raw folder (schema.table), for the benchmark and `elt compact`."""
    return {f"{p.parent.name}.{p.name}": len(data_files(p)) for p in folders}
