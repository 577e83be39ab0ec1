"""DuckDB: many CSV files of a table into its raw table in one parallel scan.

The files of a group that share a header and a compression are read by one ``read_csv``
over the list of files, straight into the raw table, the way a bare ``CREATE TABLE AS``
would: one pass over the data.

First the *clean scan*: the bare reader (no rejects table), rows numbered in scan order
(``row_number() over ()``, which DuckDB streams in the files' order) less the records of
the files before theirs, the path picked from the scan's ``file_index``. It holds only if
every record of every file loads: any line the reader refuses aborts it, and so does any
file whose rows do not come out as its records, numbered 2 to records + 1 (a blank line,
a quoted line break); the transaction is then rolled back and the group read again by the
*checked scan*.

The checked scan records the rejected lines on the side (``store_rejects``) and numbers
each row within its file (a window partitioned by file). Then, still in the group's
transaction: each file's rows are counted and checked against its records (loaded +
quarantined = records), a file that fails its checks has its rows deleted (it fails
alone), and in the files with rejected lines the row numbers after them are shifted to
their physical lines (one update, joined to a small table of shifts).
"""

from __future__ import annotations

import dataclasses
import itertools

import duckdb
import pyarrow as pa

from elt.errors import FileLoadError, FileNeedsOwnScan, FileNotReady
from elt.loader.files import SourceFile, check_unchanged, with_blank_lines
from elt.loader.parse import (
    FILENAME,
    ORDINAL,
    Reject,
    accounting_error,
    clear_rejects,
    csv_reader,
    csv_rejects,
    lit,
    q,
    reject_gaps,
)


@dataclasses.dataclass
class FileRows:
    """What the scan did with one file."""

    file: SourceFile
    rows: int = 0
    rejects: list[Reject] = dataclasses.field(default_factory=list)
    error: FileLoadError | None = None  # it failed its checks (or is still growing); rows deleted


def insert_csv_files(
    con: duckdb.DuckDBPyConnection,
    target: str,
    files: list[SourceFile],
    columns: list[str],
    batch_id: str,
    max_quarantine_rate: float,
) -> list[FileRows]:
    """Insert the files' rows; inside the caller's transaction, opened just before (a clean
    scan that does not hold is undone by rolling it back and opening another). Raises
    FileLoadError when DuckDB cannot read one of them (the caller then loads them one by
    one)."""
    if _clean_scan(con, target, files, columns, batch_id):
        return [FileRows(f, f.records) for f in files]
    con.execute("rollback")
    con.execute("begin transaction")
    return _checked_scan(con, target, files, columns, batch_id, max_quarantine_rate)


def _clean_scan(
    con: duckdb.DuckDBPyConnection,
    target: str,
    files: list[SourceFile],
    columns: list[str],
    batch_id: str,
) -> bool:
    """Every record of every file inserted, each numbered by its line: True; False when the
    scan does not hold (the caller rolls it back)."""
    if any(c.lower() == "file_index" for c in columns):  # it would hide the scan's own
        return False
    names = ", ".join(q(c) for c in columns)
    offsets = list(itertools.accumulate((f.records for f in files[:-1]), initial=0))
    rels = "[" + ", ".join(lit(f.rel) for f in files) + "]"
    which = "cast(file_index as bigint) + 1"
    try:
        con.execute(
            f"insert into {target} ({names}, _row_number, _batch_id, _source_file) "
            f"select {names}, row_number() over () - {offsets}[{which}] + 1, "
            f"{lit(batch_id)}, {rels}[{which}] from {csv_reader(files, columns, rejects=False)}"
        )
    except duckdb.Error:
        return False
    found = _rows_per_file(con, target, batch_id, files)
    return all(
        found.get(f.rel, (0, None, None))
        == ((f.records, 2, f.records + 1) if f.records else (0, None, None))
        for f in files
    )


def _rows_per_file(
    con: duckdb.DuckDBPyConnection, target: str, batch_id: str, files: list[SourceFile]
) -> dict[str, tuple[int, int, int]]:
    """What the scan wrote of each file: rel -> (rows, first and last row number)."""
    rows = con.execute(
        f"select _source_file, count(*), min(_row_number), max(_row_number) from {target} "
        "where _batch_id = ? and list_contains(?, _source_file) group by _source_file",
        [batch_id, [f.rel for f in files]],
    ).fetchall()
    return {rel: (n, low, high) for rel, n, low, high in rows}


def _checked_scan(
    con: duckdb.DuckDBPyConnection,
    target: str,
    files: list[SourceFile],
    columns: list[str],
    batch_id: str,
    max_quarantine_rate: float,
) -> list[FileRows]:
    prefix = len(str(files[0].path)) - len(files[0].rel)  # the data directory, with its slash
    names = ", ".join(q(c) for c in columns)
    reader = csv_reader(files, columns, filename=True)
    clear_rejects(con)
    try:
        con.execute(
            f"insert into {target} ({names}, _row_number, _batch_id, _source_file) "
            f"select {names}, row_number() over (partition by {q(FILENAME)} order by {q(ORDINAL)}) + 1, "
            f"{lit(batch_id)}, substr({q(FILENAME)}, {prefix + 1}) "
            f"from {reader} with ordinality as t({names}, {q(FILENAME)}, {q(ORDINAL)})"
        )
    except duckdb.Error as exc:
        clear_rejects(con)
        raise FileLoadError(
            f"DuckDB cannot read the group of {len(files)} files as CSV: {str(exc).splitlines()[0]}"
        ) from None
    rejects = csv_rejects(con, files)
    counts = _rows_per_file(con, target, batch_id, files)
    out = []
    for f in files:
        got = FileRows(f, int(counts.get(f.rel, (0,))[0]), rejects.get(f.rel, []))
        why = accounting_error(f, got.rows, got.rejects, max_quarantine_rate)
        if why:
            try:
                check_unchanged(f)  # a file still growing is not ready, not wrong
                got.error = FileLoadError(why)
                if with_blank_lines(f).blank_lines:  # not records: numbered on its own scan
                    got.error = FileNeedsOwnScan(why)
            except FileNotReady as exc:
                got.error = exc
        if got.error:
            con.execute(
                f"delete from {target} where _batch_id = ? and _source_file = ?", [batch_id, f.rel]
            )
        out.append(got)
    _shift_past_rejects(con, target, batch_id, [g for g in out if g.rejects and not g.error])
    return out


def _shift_past_rejects(
    con: duckdb.DuckDBPyConnection, target: str, batch_id: str, files: list[FileRows]
) -> None:
    """Rows were numbered 2, 3, ... by rank: the k-th row of a file moves down by the number
    of rejected lines before it. For each file, the ranks between consecutive reject gaps
    share one shift: (file, after rank, up to rank, shift) rows, joined in one update."""
    rels: list[str] = []
    lows: list[int] = []
    highs: list[int] = []
    shifts: list[int] = []
    for got in files:
        gaps, counts = reject_gaps([r.line for r in got.rejects], first_data_line=2)
        shift = 0
        for i, (gap, n) in enumerate(zip(gaps, counts, strict=True)):
            shift += n
            rels.append(got.file.rel)
            lows.append(gap)
            highs.append(gaps[i + 1] if i + 1 < len(gaps) else 2**62)
            shifts.append(shift)
    if not rels:
        return
    con.register(
        "_elt_shifts",
        pa.table({"rel": rels, "after_rank": lows, "up_to_rank": highs, "shift": shifts}),
    )
    try:
        con.execute(
            f"update {target} as t set _row_number = t._row_number + s.shift from _elt_shifts as s "
            "where t._batch_id = ? and t._source_file = s.rel "
            "and t._row_number - 1 > s.after_rank and t._row_number - 1 <= s.up_to_rank",
            [batch_id],
        )
    finally:
        con.unregister("_elt_shifts")
