"""Parsing one file with DuckDB into a staged temp table of text columns, plus its rejects.

CSV goes through ``read_csv`` with ``store_rejects`` (bad lines are recorded with their
line numbers and reasons, never silently dropped); JSON lines are split into lines and
checked line by line; Parquet goes through ``read_parquet``. Every value lands as text.
Files are read by their literal path (glob characters in names are escaped), without Hive
partition columns. A record with a NUL character in a value is quarantined (PostgreSQL's text
cannot hold one; DuckDB refuses it the same way, so both databases keep the same rows).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
import json
import re

import duckdb
import numpy as np
import pyarrow as pa

from elt.errors import FileLoadError
from elt.loader.files import SourceFile, first_line, read_all
from elt.loader.names import internal, raw_columns

_stage_numbers = itertools.count(1)
ORDINAL = internal("ordinal")  # no source column can be named so
FILENAME = internal("filename")
_TEXT = internal("text")


@dataclasses.dataclass
class Reject:
    line: int
    reason: str
    raw: str = ""


@dataclasses.dataclass
class Parsed:
    columns: list[str]  # raw data columns, in file order
    select_sql: str  # selects the data columns and _row_number, in file order
    rows: int
    rejects: list[Reject]
    temp_tables: list[str] = dataclasses.field(
        default_factory=list
    )  # drop once the rows are written
    renames: dict[str, str] = dataclasses.field(default_factory=dict)  # source -> raw column
    rename_reasons: dict[str, str] = dataclasses.field(default_factory=dict)


def accounting_error(
    f: SourceFile, rows: int, rejects: list[Reject], max_quarantine_rate: float
) -> str | None:
    """Why a parsed file must not load: its records are not all accounted for (loaded or
    quarantined), or too many of them were quarantined. None when it may load."""
    accounted = rows + len(rejects)
    if accounted != f.records:
        return (
            f"{f.rel}: {f.records} records in the file but {rows} parsed + {len(rejects)} quarantined = "
            f"{accounted}; refusing to lose rows (quoted values spanning lines are not supported)"
        )
    if f.records and len(rejects) / f.records > max_quarantine_rate:
        first = rejects[0]
        return (
            f"{f.rel}: {len(rejects)} of {f.records} records ({len(rejects) / f.records:.1%}) would be "
            f"quarantined, above --max-quarantine-rate {max_quarantine_rate:.1%}; first: line {first.line}: {first.reason}"
        )
    return None


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string literal."""
    return "'" + value.replace("'", "''") + "'"


def literal_path(f: SourceFile) -> str:
    """The file's path as a DuckDB reader argument that matches only itself.

    DuckDB's readers treat ``*``, ``?`` and ``[`` as glob characters; each is wrapped in a
    character class (``[*]``) so a file named ``[ab].csv`` is read, not ``a.csv`` and ``b.csv``.
    """
    return lit("".join(f"[{c}]" if c in "*?[" else c for c in str(f.path)))


def _no_nul(columns: list[str]) -> str:
    """True for a row whose values hold no NUL character."""
    if not columns:
        return "true"
    return "not (" + " or ".join(f"contains(coalesce({q(c)}, ''), chr(0))" for c in columns) + ")"


NUL_REASON = (
    "NUL CHARACTER: column {} holds a NUL character (U+0000), which a text column cannot store"
)


def _nul_rejects(
    con: duckdb.DuckDBPyConnection, select_sql: str, columns: list[str], raw_sql: str
) -> list[Reject]:
    """Rows of ``select_sql`` with a NUL in a value, as rejects (``raw_sql`` renders the row)."""
    which = (
        "list_filter(["
        + ", ".join(
            f"case when contains(coalesce({q(c)}, ''), chr(0)) then {lit(c)} end" for c in columns
        )
        + "], lambda x: x is not null)"
    )
    found = con.execute(
        f"select _row_number, {which}, {raw_sql} from ({select_sql}) where not {_no_nul(columns)} order by 1"
    ).fetchall()
    return [
        Reject(int(n), NUL_REASON.format(", ".join(cols)), escape_raw(raw or ""))
        for n, cols, raw in found
    ]


def _count(
    con: duckdb.DuckDBPyConnection, f: SourceFile, relation: str, columns: list[str], kind: str
) -> tuple[int, int]:
    """(rows, rows holding a NUL character) of a file's reader."""
    try:
        rows, nul_rows = con.execute(
            f"select count(*), count(*) filter (where not {_no_nul(columns)}) from {relation}"
        ).fetchall()[0]
    except duckdb.Error as exc:
        raise FileLoadError(
            f"{f.rel}: DuckDB cannot read it as {kind}: {str(exc).splitlines()[0]}"
        ) from None
    return int(rows), int(nul_rows)


def escape_raw(text: str) -> str:
    """A line as text storable anywhere: NUL shown as \\x00 (invalid bytes already are \\xNN)."""
    return text.replace("\x00", "\\x00")


def _check_columns(f: SourceFile, columns: list[str], strip: bool = True) -> list[str]:
    """Names from a header are trimmed; JSON keys are taken exactly."""
    columns = [c.strip() for c in columns] if strip else columns
    if not columns or any(not c for c in columns):
        raise FileLoadError(f"{f.rel}: header has an empty column name: {columns}")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise FileLoadError(f"{f.rel}: header repeats column(s) {', '.join(dupes)}")
    return columns


def csv_header(f: SourceFile) -> list[str]:
    """The source column names of a CSV file's header."""
    if f.unreadable:
        raise FileLoadError(f.unreadable)
    first = first_line(f)
    if not first.strip():
        raise FileLoadError(f"{f.rel}: empty file, no header line")
    try:
        text = first.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise FileLoadError(
            f"{f.rel}: line 1 (header) is not valid UTF-8 at byte {exc.start}"
        ) from None
    try:
        return _check_columns(
            f, next(csv.reader(io.StringIO(text), delimiter=f.table.delimiter, strict=True))
        )
    except csv.Error as exc:
        raise FileLoadError(f"{f.rel}: line 1 (header) is not valid CSV: {exc}") from None


def _raw_lines(f: SourceFile, numbers: list[int]) -> dict[int, str]:
    """The exact text of some lines (invalid bytes shown as \\xNN)."""
    wanted = set(numbers)
    if not wanted:
        return {}
    lines = read_all(f).split(b"\n")
    return {
        n: escape_raw(lines[n - 1].rstrip(b"\r").decode("utf-8", "backslashreplace"))
        for n in wanted
        if 0 < n <= len(lines)
    }


def reject_gaps(rejected_lines: list[int], first_data_line: int) -> tuple[list[int], list[int]]:
    """Where rejected lines sit among the accepted records: (gaps, counts), ascending.

    With rejected lines r_1 < r_2 < ..., the k-th accepted record sits at line
    k + first_data_line - 1 plus the number of rejected lines before it: those whose count
    of accepted records before them, g_i = r_i - first_data_line + 1 - i, is below k.
    ``counts`` says how many rejected lines share each gap.
    """
    r = np.array(sorted(rejected_lines), dtype=np.int64)
    gaps = r - first_data_line + 1 - np.arange(1, len(r) + 1)
    values, counts = np.unique(gaps, return_counts=True)
    return [int(v) for v in values], [int(n) for n in counts]


def row_number_sql(rejected_lines: list[int], first_data_line: int, ordinal: str) -> str:
    """Physical line of the k-th accepted record (``ordinal`` = k), skipping rejected lines
    (see ``reject_gaps``). The sum is written as a balanced tree of vectorised comparisons
    (a long CASE is much slower in DuckDB)."""
    base = f"{ordinal} + {first_data_line - 1}"
    if not rejected_lines:
        return base
    gaps, counts = reject_gaps(rejected_lines, first_data_line)
    terms = [f"({ordinal} > {g})::bigint * {n}" for g, n in zip(gaps, counts, strict=True)]

    def tree(ts: list[str]) -> str:
        if len(ts) == 1:
            return ts[0]
        half = len(ts) // 2
        return f"({tree(ts[:half])} + {tree(ts[half:])})"

    return f"{base} + {tree(terms)}"


def csv_reader(
    files: list[SourceFile], columns: list[str], filename: bool = False, rejects: bool = True
) -> str:
    """DuckDB's strict CSV reader over files of one table that share a header and compression;
    bad lines go to the ``_elt_rejects``/``_elt_scans`` tables (``rejects``), or stop it."""
    f = files[0]
    paths = "[" + ", ".join(literal_path(x) for x in files) + "]"
    col_struct = "{" + ", ".join(f"{lit(c)}: 'VARCHAR'" for c in columns) + "}"
    return (
        f"read_csv({paths}, header = true, auto_detect = false, columns = {col_struct}, "
        f"delim = {lit(f.table.delimiter)}, quote = '\"', escape = '\"', strict_mode = true, "
        f"compression = {lit(f.compression or 'none')}, hive_partitioning = false, "
        f"filename = {lit(FILENAME) if filename else 'false'}, union_by_name = false, "
        "allow_quoted_nulls = false, null_padding = false, "
        + (
            "store_rejects = true, rejects_table = '_elt_rejects', rejects_scan = '_elt_scans')"
            if rejects
            else "store_rejects = false)"
        )
    )


def clear_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop table if exists _elt_rejects; drop table if exists _elt_scans")


def csv_rejects(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> dict[str, list[Reject]]:
    """The rejected lines DuckDB's reader recorded, per file (rel), with reasons and raw text.

    A quote left open swallows the lines after it: they are rejected too, so that every
    physical line is either loaded or quarantined.
    """
    by_path = {str(f.path): f for f in files}
    found = con.execute(
        """select s.file_path, e.line,
                  string_agg(distinct e.error_type || ': ' || e.error_message, '; '
                             order by e.error_type || ': ' || e.error_message),
                  max(len(e.csv_line) - len(replace(e.csv_line, chr(10), '')))
           from _elt_rejects e join _elt_scans s using (scan_id, file_id)
           group by s.file_path, e.line order by 1, 2"""
    ).fetchall()
    clear_rejects(con)
    out: dict[str, list[Reject]] = {}
    for path, line, reason, extra_lines in found:
        f = by_path[path]
        rejects = out.setdefault(f.rel, [])
        rejects.append(Reject(int(line), str(reason)))
        for k in range(1, int(extra_lines or 0) + 1):
            if int(line) + k <= f.lines:
                rejects.append(
                    Reject(
                        int(line) + k, f"line swallowed by the unterminated quote of line {line}"
                    )
                )
    for f in files:
        if f.rel in out:
            rejects = sorted({r.line: r for r in out[f.rel]}.values(), key=lambda r: r.line)
            raw = _raw_lines(f, [r.line for r in rejects])
            for r in rejects:
                r.raw = raw.get(r.line, "")
            out[f.rel] = rejects
    return out


def parse_csv(con: duckdb.DuckDBPyConnection, f: SourceFile, columns: list[str]) -> Parsed:
    """Two passes of DuckDB's parallel CSV reader: count and find rejects, then (lazily) the rows.

    ``columns`` are the raw names, one per header field. The first pass materialises
    nothing; the second is the query the target reads from, numbering records with
    ``WITH ORDINALITY`` and mapping them to physical lines past the rejected and blank lines.
    (Staging the rows in a temp table in the first pass instead was measured no faster on
    PostgreSQL, where writing the rows dominates, and holds a whole file in memory.)
    """
    reader = csv_reader([f], columns)
    clear_rejects(con)
    # the NUL check reads every value: a bare count(*) would let DuckDB skip validating them
    rows, nul_rows = _count(con, f, reader, columns, "CSV")
    rejects = csv_rejects(con, [f]).get(f.rel, [])
    names = ", ".join(q(c) for c in columns)
    # blank lines hold no record: the records after them sit further down, like after a reject
    row_number = row_number_sql(
        [r.line for r in rejects] + list(f.blank_lines), first_data_line=2, ordinal=q(ORDINAL)
    )
    select = (
        f"select {names}, {row_number} as _row_number "
        f"from {reader} with ordinality as t({names}, {q(ORDINAL)})"
    )
    if nul_rows:
        nul = _nul_rejects(con, select, columns, "''")
        raw = _raw_lines(f, [r.line for r in nul])
        for r in nul:
            r.raw = raw.get(r.line, "")
        rejects = sorted(rejects + nul, key=lambda r: r.line)
        select = f"select * from ({select}) where {_no_nul(columns)}"
    return Parsed(columns, select, rows - nul_rows, rejects)


def json_pointer(key: str) -> str:
    """RFC 6901 pointer to a top-level key: any Unicode, '/' and '~' escaped."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


class _Number(str):
    """A JSON number exactly as written (raw is text: never through a double)."""


class _Ambiguous(ValueError):
    """A JSON object that repeats a key: which value is meant cannot be known."""


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _unique_pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        raise _Ambiguous(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
    return out


# one decoder for every line (json.loads with options builds a new one per call)
_DECODER = json.JSONDecoder(
    parse_float=_Number,
    parse_int=_Number,
    parse_constant=_no_constant,
    object_pairs_hook=_unique_pairs,
)
_AS_IS = (str, _Number, type(None))  # values stored as they are


_LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def _json_text(value: object) -> str:
    """A nested value as compact JSON, its numbers as written."""
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_text(k)}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


def json_scalar(value: object) -> str | None:
    """A top-level value as raw text: strings as they are, numbers as written, true/false,
    null as NULL, objects and arrays as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):  # a _Number too: its text
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _json_text(value)


def _object_of(text: str | None, line: bytes) -> tuple[dict[str, object] | None, str | None]:
    """(object, None), or (None, why the line is quarantined); ``text`` is the line decoded
    (None when it is not UTF-8)."""
    if text is None:
        return None, "INVALID ENCODING: line is not valid UTF-8"
    if not text.strip():
        return None, "BLANK LINE: no JSON value"
    try:
        value = _DECODER.decode(text)
    except _Ambiguous as exc:
        return None, (
            f"DUPLICATE KEY: key {json.dumps(str(exc), ensure_ascii=False)} appears twice in one "
            "object; which value is meant is unknown"
        )
    except (ValueError, RecursionError):
        return None, "INVALID JSON: line does not parse as JSON"
    if not isinstance(value, dict):
        kind = {list: "array", bool: "boolean", type(None): "null", _Number: "number"}.get(
            type(value), "string"
        )
        return None, f"NOT AN OBJECT: JSON value is a {kind}"
    if _LONE_SURROGATE.search(line):
        try:
            _json_text(value).encode("utf-8")
        except UnicodeEncodeError:
            return None, "INVALID JSON: a \\u escape is half a surrogate pair (no character)"
    return value, None


def _json_keys(objects: list[dict[str, object]]) -> list[str]:
    """The first object's keys in order, then each later object's new keys (sorted per line)."""
    seen: dict[str, None] = dict.fromkeys(objects[0]) if objects else {}
    for obj in objects[1:]:
        new = sorted(k for k in obj if k not in seen)
        seen.update(dict.fromkeys(new))
    return list(seen)


def parse_jsonl(
    con: duckdb.DuckDBPyConnection, f: SourceFile, known: list[str] | None = None
) -> Parsed:
    """Check line by line; the keys of the valid objects (first seen first) become columns,
    named against the raw table's ``known`` columns.

    Each line is parsed by Python's ``json`` with every number kept as written (raw is text:
    ``12.50`` stays ``12.50``, ``1e-400`` stays ``1e-400``), NaN and Infinity refused, and an
    object that repeats a key quarantined (which value is meant is unknown). A UTF-8 byte
    order mark before the first line is not part of it."""
    if f.unreadable:
        raise FileLoadError(f.unreadable)
    content = read_all(f)
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    lines = content.split(b"\r" if f.newlines == "cr" else b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    rejects: list[Reject] = []
    objects: list[dict[str, object]] = []
    numbers: list[int] = []
    raw_text: list[str] = []
    for n, line in enumerate(lines, 1):
        try:
            text: str | None = line.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        obj, why = _object_of(text, line)
        if obj is None:
            shown = line.rstrip(b"\r").decode("utf-8", "backslashreplace")
            rejects.append(Reject(n, str(why), escape_raw(shown)))
            continue
        objects.append(obj)
        numbers.append(n)
        raw_text.append(text)  # type: ignore[arg-type]
    source = _json_keys(objects)
    columns, renames, reasons = raw_columns(f.rel, source, known)
    arrays = {
        c: pa.array(
            [v if type(v) in _AS_IS else json_scalar(v) for v in [o.get(k) for o in objects]],
            pa.string(),
        )
        for k, c in zip(source, columns, strict=True)
    }
    stage = (
        f"_elt_stage_{next(_stage_numbers)}"  # files of a group are written after all are parsed
    )
    con.register(
        "_elt_json_rows",
        pa.table(
            {
                **arrays,
                "_row_number": pa.array(numbers, pa.int64()),
                _TEXT: pa.array(raw_text, pa.string()),
            }
        ),
    )
    con.execute(f"create temp table {stage} as select * from _elt_json_rows")
    con.unregister("_elt_json_rows")
    cols = ", ".join(q(c) for c in columns)
    nul = _nul_rejects(con, f"select * from {stage}", columns, q(_TEXT)) if columns else []
    if nul:
        con.execute(f"delete from {stage} where not {_no_nul(columns)}")
        rejects = sorted(rejects + nul, key=lambda r: r.line)
    rows = len(objects) - len(nul)
    return Parsed(
        columns,
        f"select {cols + ',' if columns else ''} _row_number from {stage}",
        rows,
        rejects,
        [stage],
        renames,
        reasons,
    )


def _parquet_reader(f: SourceFile) -> str:
    return f"read_parquet({literal_path(f)}, hive_partitioning = false)"


def parquet_columns(f: SourceFile) -> list[str]:
    """The source column names of a Parquet file, as written (DuckDB would rename case twins)."""
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(f.path).names)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise FileLoadError(
            f"{f.rel}: cannot read it as Parquet: {str(exc).splitlines()[0]}"
        ) from None
    return _check_columns(f, names)


def parse_parquet(con: duckdb.DuckDBPyConnection, f: SourceFile, columns: list[str]) -> Parsed:
    """``columns`` are the raw names, one per column of the file, in order. Rows are numbered
    by ``WITH ORDINALITY`` (the reader's ``file_row_number`` would clash with a column of
    that name)."""
    src = _parquet_reader(f)
    try:
        described = con.execute(f"describe select * from {src}").fetchall()
    except duckdb.Error as exc:
        raise FileLoadError(
            f"{f.rel}: DuckDB cannot read it as Parquet: {str(exc).splitlines()[0]}"
        ) from None
    if len(described) != len(columns):
        raise FileLoadError(
            f"{f.rel}: DuckDB reads {len(described)} columns, its schema has {len(columns)}"
        )
    aliases = [internal(f"c{i}") for i in range(len(columns))]
    casts = ", ".join(
        f"cast({q(a)} as varchar) as {q(c)}" for a, c in zip(aliases, columns, strict=True)
    )
    select = (
        f"select {casts}, {q(ORDINAL)} as _row_number from {src} "
        f"with ordinality as t({', '.join(q(a) for a in [*aliases, ORDINAL])})"
    )
    rows, nul_rows = _count(con, f, f"({select})", columns, "Parquet")
    rejects: list[Reject] = []
    if nul_rows:
        row_json = "to_json({" + ", ".join(f"{lit(c)}: {q(c)}" for c in columns) + "})"
        rejects = _nul_rejects(con, select, columns, row_json)
        select = f"select * from ({select}) where {_no_nul(columns)}"
    return Parsed(columns, select, rows - nul_rows, rejects)


def parse(
    con: duckdb.DuckDBPyConnection,
    f: SourceFile,
    columns: list[str] | None = None,
    known: list[str] | None = None,
) -> Parsed:
    """Parse a file. CSV and Parquet: ``columns`` are the raw names planning gave the file's
    columns; JSON lines: names are given here, against the table's ``known`` columns."""
    if f.unreadable:
        raise FileLoadError(f.unreadable)
    if f.table.format == "jsonl":
        return parse_jsonl(con, f, known)
    if columns is None:
        raise ValueError("CSV and Parquet files are parsed with the columns planning found")
    if f.table.format == "csv":
        return parse_csv(con, f, columns)
    return parse_parquet(con, f, columns)
