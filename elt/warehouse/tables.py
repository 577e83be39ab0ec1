"""A bookkeeping table defined once: its DDL on DuckDB and PostgreSQL, the columns added since
an older release created it, and the Arrow schema its rows are written with."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pyarrow as pa


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | bigint | double precision | timestamptz
    nullable: bool = False
    description: str = ""


@dataclasses.dataclass(frozen=True)
class BookTable:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def ddl(self, schema_sql: str, name: str | None = None) -> str:
        """``create table if not exists``: the same SQL on DuckDB and PostgreSQL."""
        cols = ",\n    ".join(
            f"{c.name} {c.kind}" + ("" if c.nullable or c.name in self.primary_key else " not null")
            for c in self.columns
        )
        key = f",\n    primary key ({', '.join(self.primary_key)})" if self.primary_key else ""
        return f"create table if not exists {schema_sql}.{name or self.name} (\n    {cols}{key}\n)"

    def upgrades(self, schema_sql: str, existing: Sequence[str]) -> list[str]:
        """Columns added since an older loader created the table (always nullable)."""
        return [
            f"alter table {schema_sql}.{self.name} add column {c.name} {c.kind}"
            for c in self.columns
            if c.name not in existing
        ]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema(
            [pa.field(c.name, _ARROW[c.kind], nullable=c.nullable) for c in self.columns]
        )

    def rows(self, rows: Sequence[Sequence[object]]) -> pa.Table:
        """Rows (tuples in column order) as an Arrow table of this table's schema."""
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in self.columns]
        schema = self.arrow_schema()
        return pa.table(
            [pa.array(list(v), f.type) for v, f in zip(columns, schema, strict=True)],
            schema=schema,
        )


_ARROW = {
    "text": pa.string(),
    "bigint": pa.int64(),
    "double precision": pa.float64(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}
