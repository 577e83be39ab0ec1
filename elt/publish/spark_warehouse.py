"""The audit's diff on Spark: the same statements through the project's Spark catalog (a
local session or a Thrift server), with Spark's identifier quoting and text type."""

from __future__ import annotations

from typing import Any

from elt.loader.spark_catalog import Catalog, bq


class SparkWarehouse:
    text_type = "string"
    quote = staticmethod(bq)

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        return self.catalog.query(statement)[1]

    def columns(self, relation: str) -> list[str]:
        return self.catalog.query(f"select * from {relation} limit 0")[0]
