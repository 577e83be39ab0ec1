"""What a test declares of its model's columns (elt/declared_tests.py): both spellings."""

from __future__ import annotations

from typing import Any

import pytest

from elt.declared_tests import ColumnRule, column_rules

NAMES = {"model.p.fct": "fct", "model.p.dim_date": "dim_date"}


def node(name: str, column: str | None = None, **kwargs: Any) -> dict[str, Any]:
    return {
        "unique_id": f"test.p.{name}",
        "column_name": column,
        "test_metadata": {"name": name, "kwargs": kwargs},
        "depends_on": {"nodes": ["model.p.fct", "model.p.dim_date"]},
    }


def test_the_column_tests_and_the_family_tests_declare_the_same_rules() -> None:
    per_column = [
        *column_rules(node("not_null", "a"), "fct", NAMES),
        *column_rules(node("not_null", "b"), "fct", NAMES),
        *column_rules(node("relationships", "d", to="ref('dim_date')", field="k"), "fct", NAMES),
    ]
    family = [
        *column_rules(node("not_null_columns", columns=["a", "b"]), "fct", NAMES),
        *column_rules(
            node("foreign_keys", keys=[{"column": "d", "to": "ref('dim_date')", "field": "k"}]),
            "fct",
            NAMES,
        ),
    ]
    assert (
        per_column
        == family
        == [
            ColumnRule("not_null", "a"),
            ColumnRule("not_null", "b"),
            ColumnRule("relationships", "d", "dim_date", "k"),
        ]
    )


@pytest.mark.parametrize(
    ("written", "target"),
    [
        ("ref('dim_date')", "dim_date"),
        ('ref("dim_date")', "dim_date"),
        ("source('elt', 'runs')", "runs"),
    ],
)
def test_a_foreign_key_names_the_model_or_source_it_references(written: str, target: str) -> None:
    keys = [{"column": "d", "to": written, "field": "k"}]
    [rule] = column_rules(node("foreign_keys", keys=keys), "fct", NAMES)
    assert rule.to == target


def test_other_tests_declare_no_column_rule() -> None:
    assert column_rules(node("accepted_values", "s", values=["x"]), "fct", NAMES) == []
    assert column_rules(node("scd2_no_overlap", key="id"), "fct", NAMES) == []
