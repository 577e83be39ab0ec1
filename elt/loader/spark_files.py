"""The Spark loader's files: their names, and the compaction of its folders. A night lands one
part file per source file in a raw table, and one file per source file in the manifest (and
in the quarantine when it has rejected lines), and two per run in the run history, so a year
of nights would leave thousands of small files for Spark to list and open.

Compaction merges a folder's committed single files into one ``part-c-<id>.parquet`` once
there are ``min_files`` of them, and the compacted files into one once there are as many
(rows in the folder's order, for raw tables ``_loaded_at``, so a night's read of the new
loads skips the older row groups): after a load a folder holds at most 2 x (min_files - 1)
files. Every row names its source file and batch (``Layout``: ``_source_file`` and
``_batch_id`` in a raw table, ``file_path`` and ``batch_id`` in the manifest and the
quarantine), so a compacted file needs no index of its own: a reload of a file whose rows
were compacted, or the sweep after a killed load, rewrites the compacted file without the
rows of batches that are no longer loaded (``purge``).

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


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a folder's rows say of where they came from, and the order a rewrite keeps."""

    source: str  # the column naming a row's source file (its file id is file_id of it)
    batch: str  # the column naming the load that wrote the row
    order: tuple[str, ...]


RAW = Layout("_source_file", "_batch_id", ("_loaded_at", "_source_file", "_row_number"))


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
    """The Parquet files Spark reads in a folder: single files and compacted ones (Spark
    skips names that start with . or _, as this does)."""
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith((".", "_")))


def compacted_files(folder: Path) -> list[Path]:
    return [p for p in data_files(folder) if COMPACTED.match(p.name)]


def single_files(folder: Path) -> list[Path]:
    """The files one load (or one run) wrote, not compacted yet."""
    return [p for p in data_files(folder) if not COMPACTED.match(p.name)]


def named(is_loaded: Callable[[str, str], bool]) -> Callable[[Path], bool]:
    """Whether a single file named by its source file and batch (a raw part file, a
    quarantine file) is committed: ``is_loaded(file id, batch)``."""

    def committed(path: Path) -> bool:
        m = PART_NAME.match(path.name)
        return m is not None and is_loaded(m.group(1), m.group(2))

    return committed


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


def rewrite(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    inputs: list[Path],
    layout: Layout,
    where: str = "true",
    select: str = "*",
) -> int:
    """``inputs`` (``select`` of their rows matching ``where``) as one new compacted file, in
    one step for readers. Returns the rows written."""
    names = sorted(p.name for p in inputs)
    output = f"part-c-{hashlib.sha256(' '.join(names).encode()).hexdigest()[:16]}.parquet"
    if output in names:  # a purge of a file into itself: a name of its own
        output = f"part-c-{hashlib.sha256(('purged ' + ' '.join(names)).encode()).hexdigest()[:16]}.parquet"
    tmp = folder / f".{output}.tmp"
    files = "[" + ", ".join(lit(str(p)) for p in inputs) + "]"
    written = con.execute(
        f"copy (select {select} from read_parquet({files}, union_by_name = true) where {where}"
        f" order by {', '.join(layout.order)})"
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
    committed: Callable[[Path], bool],
    min_files: int = DEFAULT_MIN_FILES,
    layout: Layout = RAW,
) -> Compacted | None:
    """Merge the folder's committed single files into one compacted file, when there are at
    least ``min_files`` of them (``committed`` says which are: a killed load's leftovers
    never are). None when there is nothing to do."""
    recover(folder)
    before = data_files(folder)
    singles = [p for p in single_files(folder) if committed(p)]
    rows = rewrite(con, folder, singles, layout) if len(singles) >= max(min_files, 2) else 0
    # the compacted files in turn, once there are as many: at most 2 x (min_files - 1) files
    # after a load, and the whole table is rewritten once in min_files² nights
    merged = compacted_files(folder)
    if len(merged) >= max(min_files, 2):
        rows = rewrite(con, folder, merged, layout)
    if not rows and len(data_files(folder)) == len(before):
        return None
    return Compacted(folder, len(before), len(data_files(folder)), rows)


def purge(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    keep: Callable[[str, str], bool],
    layout: Layout = RAW,
) -> list[str]:
    """Rewrite each compacted file holding rows of a (file id, batch) ``keep`` refuses (a
    file reloaded since, a load that did not commit) without them. Returns the
    ``source file@batch`` purged."""
    recover(folder)
    files = compacted_files(folder)
    if not files:
        return []
    source, batch = layout.source, layout.batch
    found = con.execute(
        f"select distinct filename, {source}, {batch} from read_parquet(?, filename = true)",
        [[str(p) for p in files]],
    ).fetchall()
    gone: dict[str, list[tuple[str, str]]] = {}
    for name, s, b in found:
        if not keep(file_id(str(s)), safe_name(str(b))):
            gone.setdefault(str(name), []).append((str(s), str(b)))
    purged: list[str] = []
    for name, pairs in sorted(gone.items()):
        dropped = " or ".join(
            f"({source} = {lit(s)} and {batch} = {lit(b)})" for s, b in sorted(pairs)
        )
        rewrite(con, folder, [Path(name)], layout, f"not ({dropped})")
        purged += [f"{s}@{b}" for s, b in sorted(pairs)]
    return purged


def count_files(folders: Iterable[Path]) -> dict[str, int]:
    """Data files per raw folder (schema.table), for the benchmark and `elt compact`."""
    return {f"{p.parent.name}.{p.name}": len(data_files(p)) for p in folders}
