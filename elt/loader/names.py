"""Raw column names for source columns: any source name loads, on both databases alike.

A source column keeps its name in the raw table unless that name cannot be a column there:

- it is longer than 63 bytes in UTF-8 (PostgreSQL's limit; applied on DuckDB too, so the
  raw tables, and the models on them, are the same on both);
- it equals one of the loader's metadata columns (``_batch_id``, ``_source_file``,
  ``_file_id``, ``_row_number``, ``_loaded_at``), ignoring case;
- it is empty (a JSON key may be ``""``);
- it differs only in letter case from a column the raw table already has, or from an earlier
  column of the same file (DuckDB's names are case-insensitive).

Such a name becomes ``<name cut to fit>__<first 8 hex digits of the sha256 of the name>``:
the same source name always gets the same raw name, and the first spelling of a name the
table saw keeps it. The renames of a file are recorded in the manifest (``column_renames``)
and in its message.
"""

from __future__ import annotations

import hashlib

from elt.errors import FileLoadError

MAX_IDENTIFIER_BYTES = 63
META_COLUMNS = ("_batch_id", "_source_file", "_file_id", "_row_number", "_loaded_at")
_SUFFIX_BYTES = 10  # "__" + 8 hex digits


def internal(name: str) -> str:
    """A name for the loader's own columns in its queries (a row's ordinal, its JSON text):
    longer than any raw column may be, so no source column can clash with it."""
    return f"_elt_{name}_" + "_" * MAX_IDENTIFIER_BYTES


def renamed(name: str) -> str:
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    head = name.encode("utf-8")[: MAX_IDENTIFIER_BYTES - _SUFFIX_BYTES]
    return head.decode("utf-8", "ignore") + "__" + digest


def _why(name: str, taken: dict[str, str]) -> str | None:
    if not name:
        return "an empty name"
    if len(name.encode("utf-8")) > MAX_IDENTIFIER_BYTES:
        return f"longer than {MAX_IDENTIFIER_BYTES} bytes"
    if name.lower() in META_COLUMNS:
        return "the name of a loader metadata column"
    twin = taken.get(name.lower())
    if twin is not None and twin != name:
        return f"differs from column {twin} only in letter case"
    return None


def raw_columns(
    rel: str, source: list[str], existing: list[str] | None
) -> tuple[list[str], dict[str, str], dict[str, str]]:
    """(raw name of each source column, in order; {source: raw} renames; {source: reason}).

    Raises FileLoadError when two source columns would still share a raw column (a header
    that repeats a name exactly, say): the file fails alone.
    """
    taken = {c.lower(): c for c in existing or []}
    out: list[str] = []
    renames: dict[str, str] = {}
    reasons: dict[str, str] = {}
    used: set[str] = set()
    for name in source:
        why = _why(name, taken)
        raw = name if why is None else renamed(name)
        if raw.lower() in used:
            raise FileLoadError(
                f"{rel}: column {name!r} appears twice (as {raw!r}); a file's column names must differ"
            )
        used.add(raw.lower())
        if why is not None:
            renames[name] = raw
            reasons[name] = why
        taken.setdefault(raw.lower(), raw)
        out.append(raw)
    return out, renames, reasons
