"""The audit's diff on Spark: the same statements through the project's Spark catalog (a
local session or a Thrift server), with Spark's identifier quoting and text type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from elt.warehouse.spark_catalog import Catalog, bq


class SparkWarehouse:
    text_type = "string"
    quote = staticmethod(bq)

    @staticmethod
    def join_key(alias: str, column: str) -> str | None:
        return None  # the key itself

    @staticmethod
    def collect(expression: str) -> str:
        return f"collect_list({expression})"

    @staticmethod
    def row_hash(alias: str, columns: Sequence[str]) -> str:
        """Spark's 64-bit xxhash of the columns."""
        if not columns:
            return "0"
        return "xxhash64(" + ", ".join(f"{alias}.{bq(c)}" for c in columns) + ")"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        return self.catalog.query(statement)[1]

    def columns(self, relation: str) -> list[str]:
        return self.catalog.query(f"select * from {relation} limit 0")[0]
