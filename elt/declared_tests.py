"""What a model's tests declare of its columns, read from dbt's manifest: not null, unique, and
the foreign keys (which model and column each references).

A rule is declared either by dbt's per-column tests (``not_null``, ``unique``,
``relationships``) or by the project's per-model family tests (tests/generic:
``not_null_columns``, ``foreign_keys``), which check several columns in one node. Everything
that reads keys from the manifest (the diagrams, the reference pages, the audit's diff keys)
reads them here, so both spellings mean the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NOT_NULL, UNIQUE, REFERENCES = "not_null", "unique", "relationships"
# a family test's `to` as written in YAML: ref('dim_date'), ref("dim_date"), source('elt', 'runs')
_TARGET = re.compile(r"""^\s*(?:ref|source)\s*\((?:\s*['"][^'"]+['"]\s*,)?\s*['"]([^'"]+)['"]""")


@dataclass(frozen=True)
class ColumnRule:
    kind: str  # not_null, unique or relationships
    column: str
    to: str | None = None  # relationships: the model (or source table) referenced
    field: str | None = None  # relationships: its column


def referenced(node: dict[str, Any], owner: str, names: dict[str, str]) -> str:
    """The model a ``relationships`` test points to: the one it depends on besides its owner."""
    targets = [names[d] for d in node["depends_on"]["nodes"] if d in names]
    others = [t for t in targets if t != owner] or targets
    if len(others) != 1:
        raise ValueError(f"{node['unique_id']}: cannot tell which model it points to")
    return others[0]


def _target(node: dict[str, Any], written: object) -> str:
    found = _TARGET.match(str(written))
    if not found:
        raise ValueError(f"{node['unique_id']}: `to` {written!r} is not a ref() or source()")
    return found.group(1)


def column_rules(node: dict[str, Any], owner: str, names: dict[str, str]) -> list[ColumnRule]:
    """The column rules one test node declares on its model ``owner`` (``names``: unique id
    to model name, for the referenced model of a ``relationships`` test); [] for any other
    test."""
    meta = node.get("test_metadata") or {}
    name, kwargs = meta.get("name"), meta.get("kwargs") or {}
    column = node.get("column_name")
    if name in (NOT_NULL, UNIQUE) and column:
        return [ColumnRule(str(name), str(column))]
    if name == REFERENCES and column:
        return [
            ColumnRule(REFERENCES, str(column), referenced(node, owner, names), kwargs.get("field"))
        ]
    if name == "not_null_columns":
        return [ColumnRule(NOT_NULL, str(c)) for c in kwargs.get("columns") or []]
    if name == "foreign_keys":
        return [
            ColumnRule(REFERENCES, str(k["column"]), _target(node, k["to"]), str(k["field"]))
            for k in kwargs.get("keys") or []
        ]
    return []


def is_family(node: dict[str, Any]) -> bool:
    """Whether the test is one of the per-model family tests (several columns, one node)."""
    return (node.get("test_metadata") or {}).get("name") in ("not_null_columns", "foreign_keys")
