"""The loader's bookkeeping, defined once: the manifest and quarantine tables, file statuses, notes.

The DDL on both databases, the upgrade of an older manifest (columns added since), the Arrow
schema the rows are written with, and (in a test) the dbt source YAML all come from
``MANIFEST`` and ``QUARANTINE`` below.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

from elt.history.tables import RUN_NODES, RUNS
from elt.warehouse.tables import BookTable, Column


class FileStatus(enum.StrEnum):
    """A file's row in the manifest: its rows are in the raw table, or they are not."""

    LOADED = "loaded"
    FAILED = "failed"
    RENAMED = (
        "renamed"  # the content of a loaded file whose path is gone: its rows stay under that path
    )


class Outcome(enum.StrEnum):
    """What one run did with one file."""

    LOADED = "loaded"  # new file, rows written
    RELOADED = "reloaded"  # changed file, rows replaced (--reload)
    SKIPPED = "skipped"  # already loaded, unchanged (or the same file under another name)
    WAITING = "waiting"  # not ready yet (still being written, no marker): left for the next run
    FAILED = "failed"  # the file cannot be loaded as it is; recorded in the manifest
    REFUSED = "refused"  # not loaded on purpose (changed without --reload, outside the data dir)

    @property
    def ok(self) -> bool:
        return self in (Outcome.LOADED, Outcome.RELOADED, Outcome.SKIPPED, Outcome.WAITING)


class NoteKind(enum.StrEnum):
    COLUMN_ADDED = "column_added"  # schema drift: the raw table gained the column
    COLUMN_MISSING = "column_missing"  # schema drift: the file lacks a column of the table
    COLUMN_RENAMED = "column_renamed"  # the source name cannot be a raw column name as it is
    NO_RECORDS = "no_records"
    DUPLICATE_FILE = "duplicate_file"  # a second path (symlink) to a file seen under another
    RENAMED_FILE = "renamed_file"  # a loaded file's content under a new path, the old one gone
    REDELIVERED = (
        "redelivered"  # a loaded file's content again under a new path, the old one still there
    )


@dataclasses.dataclass(frozen=True)
class Note:
    """Something worth knowing about a loaded file, typed (no parsing of messages)."""

    kind: NoteKind
    column: str = ""  # the source column, for column notes
    raw_column: str = ""  # its raw column, for renames
    table: str = ""  # the raw table, for drift
    reason: str = ""

    @property
    def is_drift(self) -> bool:
        return self.kind in (
            NoteKind.COLUMN_ADDED,
            NoteKind.COLUMN_MISSING,
            NoteKind.COLUMN_RENAMED,
        )

    def __str__(self) -> str:
        if self.kind is NoteKind.COLUMN_ADDED:
            return f"new column {self.column} added to {self.table}"
        if self.kind is NoteKind.COLUMN_MISSING:
            return f"column {self.column} missing from the file: null for its rows"
        if self.kind is NoteKind.COLUMN_RENAMED:
            return f"column {self.column!r} loaded as {self.raw_column} ({self.reason})"
        if self.kind is NoteKind.NO_RECORDS:
            return "no records (empty or header only)"
        return self.reason


def render_notes(notes: Sequence[Note]) -> str:
    return "; ".join(str(n) for n in notes)


MANIFEST = BookTable(
    "_elt_manifest",
    (
        Column(
            "file_path",
            "text",
            description="Path relative to the data directory; with raw_table, the file's identity.",
        ),
        Column("source_table", "text", description="The dbt source table (source.table)."),
        Column(
            "raw_table",
            "text",
            description="The raw table the rows went to (one file may feed several raw tables: a row each).",
        ),
        Column(
            "size_bytes", "bigint", description="File size in bytes, as stored (compressed or not)."
        ),
        Column("content_hash", "text", description="sha256 of the file's bytes as stored."),
        Column(
            "rows_in_file",
            "bigint",
            description="Records in the file (lines, less a CSV header and blank lines; Parquet rows); 0 when the file cannot be read.",
        ),
        Column("rows_loaded", "bigint", description="Rows written to the raw table."),
        Column("rows_quarantined", "bigint", description="Lines written to the quarantine."),
        Column(
            "status",
            "text",
            description="loaded, failed, or renamed (the content of a loaded file whose path is gone: not loaded again, its rows stay under the old path).",
        ),
        Column(
            "message",
            "text",
            nullable=True,
            description="Drift and rename notes, or why the file failed.",
        ),
        Column("started_at", "timestamptz", description="When loading the file began."),
        Column("finished_at", "timestamptz", description="When the file's transaction committed."),
        Column("batch_id", "text", description="The `elt load` run."),
        Column(
            "file_modified_at",
            "timestamptz",
            nullable=True,
            description="The file's modification time when it was hashed: an unchanged size and time skip rehashing.",
        ),
        Column(
            "column_renames",
            "text",
            nullable=True,
            description="JSON object of source column names that were loaded under another raw column name.",
        ),
        Column(
            "file_id",
            "bigint",
            nullable=True,
            description="A number of the file's load, unique in the manifest (none for a failed or renamed file). On PostgreSQL a raw row names its file by this number (`_file_id`), not by its path and batch.",
        ),
        Column(
            "first_loaded_at",
            "timestamptz",
            nullable=True,
            description="When the file's rows were first committed; kept when `elt load --reload` replaces them, so a later finished_at marks a restatement (none for a failed or renamed file, nor for a file an older loader loaded until it is reloaded).",
        ),
    ),
    primary_key=("raw_table", "file_path"),
)

QUARANTINE = BookTable(
    "_elt_quarantine",
    (
        Column("file_path", "text", description="File of the line."),
        Column("source_table", "text", description="The dbt source table."),
        Column(
            "line_number",
            "bigint",
            description="Physical line number in the file (1 = first line); row number for Parquet.",
        ),
        Column(
            "raw_line",
            "text",
            nullable=True,
            description="The line as it was, invalid bytes and NUL shown as \\xNN.",
        ),
        Column("reason", "text", description="What was wrong with it."),
        Column("batch_id", "text", description="The `elt load` run."),
        Column("quarantined_at", "timestamptz", description="When it was quarantined."),
    ),
)

BOOKKEEPING = (MANIFEST, QUARANTINE, RUNS, RUN_NODES)
