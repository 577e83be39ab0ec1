"""The per-model family tests (tests/generic/not_null_columns.sql, foreign_keys.sql) report the
failures dbt's per-column tests report: the same count, and each failing row's rule and key.

A small dbt project beside the repository's: its generic tests and column macros, two seeds with
nulls and orphans, each rule declared both ways."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from elt.tests.conftest import REPO, pg_settings
from elt.tests.loader_helpers import make_wh

DBT = str(Path(sys.executable).with_name("dbt"))

PARENT = "id,label\n1,one\n2,two\n3,three\n"
# two nulls in a, one in b (a row with both), two orphans (7, 8), a null parent (not an orphan)
CHILD = (
    "child_id,a,b,parent_id,other_parent\n10,x,y,1,2\n11,,y,7,3\n12,,,2,1\n13,x,y,,8\n14,x,y,3,3\n"
)
SEEDS_YML = """
version: 2
seeds:
  - name: parent
  - name: child
    data_tests:
      - not_null_columns:
          name: not_null_child
          arguments: {columns: [a, b], row_key: child_id}
      - foreign_keys:
          name: foreign_keys_child
          arguments:
            row_key: child_id
            keys:
              - {column: parent_id, to: "ref('parent')", field: id}
              - {column: other_parent, to: "ref('parent')", field: id}
    columns:
      - name: a
        data_tests: [not_null]
      - name: b
        data_tests: [not_null]
      - name: parent_id
        data_tests:
          - relationships: {arguments: {to: ref('parent'), field: id}}
      - name: other_parent
        data_tests:
          - relationships: {arguments: {to: ref('parent'), field: id}}
"""


def project(work: Path, target: str, database: str | None) -> Path:
    root = work / "families"
    (root / "macros").mkdir(parents=True)
    shutil.copy(REPO / "macros" / "utils" / "columns.sql", root / "macros")  # text_type()
    shutil.copytree(REPO / "tests" / "generic", root / "tests" / "generic")
    (root / "seeds").mkdir()
    (root / "seeds" / "parent.csv").write_text(PARENT)
    (root / "seeds" / "child.csv").write_text(CHILD)
    (root / "seeds" / "_seeds.yml").write_text(SEEDS_YML)
    (root / "dbt_project.yml").write_text(
        "name: families\nversion: '1.0'\nconfig-version: 2\nprofile: families\n"
        "flags: {require_generic_test_arguments_property: true}\n"
    )
    if target == "postgres":
        s = pg_settings()
        output = (
            f"type: postgres\n      host: {s['host']}\n      port: {int(s['port'])}\n"
            f"      user: {s['user']}\n      password: '{s['password'] or ''}'\n"
            f"      dbname: {database}\n      schema: families\n      threads: 1"
        )
    else:
        output = f"type: duckdb\n      path: {work / 'warehouse.duckdb'}\n      threads: 1"
    (root / "profiles.yml").write_text(
        f"families:\n  target: t\n  outputs:\n    t:\n      {output}\n"
    )
    return root


def build(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DBT, "build", "--project-dir", str(root), "--profiles-dir", str(root)],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "PATH": str(Path(DBT).parent)},
    )


def failures(root: Path) -> dict[str, Any]:
    done = build(root)
    results = json.loads((root / "target" / "run_results.json").read_text())
    by_name = {r["unique_id"].split(".")[2]: r for r in results["results"]}
    assert all(r["status"] in ("success", "fail", "pass") for r in by_name.values()), done.stdout
    return by_name


@pytest.mark.parametrize("target", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_family_test_reports_what_the_column_tests_report(
    target: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database = request.getfixturevalue("pg_database") if target == "postgres" else None
    root = project(tmp_path, target, database)
    ran = failures(root)
    column = {name: r["failures"] for name, r in ran.items() if name.startswith("not_null_child_")}
    assert sorted(column.values()) == [1, 2]  # a: 2 nulls, b: 1
    assert ran["not_null_child"]["status"] == "fail"
    assert ran["not_null_child"]["failures"] == sum(column.values()) == 3
    references = [r["failures"] for n, r in ran.items() if n.startswith("relationships_child")]
    assert sorted(references) == [1, 1]  # 7 as parent_id, 8 as other_parent; a null is no orphan
    assert ran["foreign_keys_child"]["failures"] == sum(references) == 2

    # each failing row says which rule broke, on which row: what `elt publish` prints
    wh = make_wh(target, tmp_path, database)  # the project's warehouse helper
    rows: set[tuple[Any, ...]] = set()
    for name in ("not_null_child", "foreign_keys_child"):
        sql = ran[name]["compiled_code"]
        rows |= set(wh.sql(f"select value, rule, row_key from ({sql}) as t"))
    assert rows == {
        ("null", "a is not null", "11"),
        ("null", "a is not null", "12"),
        ("null", "b is not null", "12"),
        ("7", "parent_id references parent.id", "11"),
        ("8", "other_parent references parent.id", "13"),
    }


def test_a_family_test_names_a_list_it_was_not_given(tmp_path: Path) -> None:
    root = project(tmp_path, "duckdb", None)
    yml = root / "seeds" / "_seeds.yml"
    yml.write_text(yml.read_text().replace("columns: [a, b]", "columns: a"))
    done = build(root)
    assert done.returncode != 0
    assert "`columns` must be a list of column names" in done.stdout
