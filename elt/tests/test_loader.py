"""The loader on real DuckDB and PostgreSQL: reconciliation, idempotency, reloads, crashes, drift."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from elt.generator.config import MESS_KINDS, STRUCTURAL_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.loader_helpers import Wh, kill_load_after_first_file

START = dt.date(2025, 3, 1)
RATES = {k: (0.01 if k in STRUCTURAL_KINDS else 0.03) for k in MESS_KINDS}
RAW_TABLES = [
    "shop__customers",
    "shop__products",
    "shop__orders",
    "shop__order_items",
    "payments__payments",
    "finance__fx_rates",
]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    generate(
        root,
        GeneratorConfig(
            scale=0.02, seed=3, start=START, rates=RATES, drift_date=START + dt.timedelta(days=3)
        ),
        days=6,
    )
    return root


def records(root: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, object]] = {}
    for path in sorted((root / "_meta/injected").glob("*.json")):
        out.update(json.loads(path.read_text())["files"])
    return out


def raw_counts(wh: Wh, table: str) -> dict[str, int]:
    """Rows per source file of a raw table ({} when the table does not exist yet)."""
    if not wh.sql(
        f"select 1 from information_schema.tables where table_schema = 'raw' and table_name = '{table}'"
    ):
        return {}
    return dict(wh.sql(f"select _source_file, count(*) from {wh.raw(table)} group by 1"))


def test_load_reconciles_with_what_the_generator_wrote(wh: Wh, dataset: Path) -> None:
    report = wh.load(dataset)
    assert report.ok, [r.message for r in report.results if r.status != "loaded"]
    expected = records(dataset)
    manifest = {
        r[0]: r[1:]
        for r in wh.sql(
            "select file_path, rows_in_file, rows_loaded, rows_quarantined, status from raw._elt_manifest"
        )
    }
    assert set(manifest) == set(expected)
    quarantine: dict[str, list[tuple[int, str]]] = {}
    for path, line, reason, raw in wh.sql(
        "select file_path, line_number, reason, raw_line from raw._elt_quarantine order by 1, 2"
    ):
        quarantine.setdefault(path, []).append((line, reason))
        assert reason
        assert raw is not None
    loaded: Counter[str] = Counter()
    for table in RAW_TABLES:
        loaded.update(raw_counts(wh, table))
    for rel, rec in expected.items():
        in_file, rows_loaded, rows_quarantined, status = manifest[rel]
        assert status == "loaded"
        # the invariant, per file
        assert in_file == rec["rows"] == rows_loaded + rows_quarantined, rel
        assert rows_loaded == loaded[rel], rel
        assert [line for line, _ in quarantine.get(rel, [])] == [
            line for line, _ in rec["malformed_lines"]
        ], rel
    reasons = {
        kind: {
            r
            for path, lines in quarantine.items()
            for (line, r) in lines
            if [line, kind] in expected[path]["malformed_lines"]
        }
        for kind in STRUCTURAL_KINDS
    }
    assert any("INVALID ENCODING" in r for r in reasons["invalid_utf8"])
    assert any("UNQUOTED VALUE" in r or "INVALID JSON" in r for r in reasons["bad_quoting"])
    assert any("COLUMNS" in r for r in reasons["wrong_column_count"])
    # metadata: one batch, row numbers that exist in the file, load time set
    assert wh.sql(
        "select count(distinct _batch_id), min(_row_number) >= 1, count(*) filter (where _loaded_at is null) "
        f"from {wh.raw('shop__orders')}"
    ) == [(1, True, 0)]


def test_row_numbers_are_the_lines_of_the_file(wh: Wh, dataset: Path) -> None:
    wh.load(dataset, tables=("shop.order_items", "payments.payments"))
    for rel, rec in records(dataset).items():
        if (
            not rel.startswith(("shop/order_items", "payments/payments"))
            or not rec["malformed_lines"]
        ):
            continue
        lines = (dataset / rel).read_bytes().split(b"\n")
        table = "shop__order_items" if rel.startswith("shop") else "payments__payments"
        second = "line_number" if table == "shop__order_items" else "payment_id"
        rows = wh.sql(
            f"select _row_number, order_id, {second} from {wh.raw(table)} where _source_file = '{rel}' order by 1"
        )
        assert rows
        for number, order_id, other in rows:
            text = lines[number - 1].decode()
            if table == "shop__order_items":
                assert text.startswith(f"{order_id},{other},"), (rel, number, text)
            else:
                assert str(json.loads(text)["payment_id"]) == other, (rel, number, text)


def test_rerun_loads_nothing(wh: Wh, dataset: Path) -> None:
    first = wh.load(dataset)
    before = {t: wh.sql(f"select count(*) from raw.{t}")[0][0] for t in RAW_TABLES}
    again = wh.load(dataset)
    assert again.ok
    assert {r.status for r in again.results} == {"skipped"}
    assert sum(r.rows_loaded for r in again.results) == 0
    assert len(again.results) == len(first.results)
    assert {t: wh.sql(f"select count(*) from raw.{t}")[0][0] for t in RAW_TABLES} == before


def test_new_day_loads_only_the_new_files(wh: Wh, dataset: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    wh.load(data)
    generate(data, GeneratorConfig(seed=3, rates=RATES), days=1, cont=True)
    report = wh.load(data)
    new = [r for r in report.results if r.status == "loaded"]
    assert new
    assert all("2025-03-07" in r.file.rel for r in new)
    assert all(r.status == "skipped" for r in report.results if "2025-03-07" not in r.file.rel)


def test_changed_file_is_refused_then_reloaded_on_request(
    wh: Wh, dataset: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(dataset, data)
    wh.load(data)
    rel = f"shop/orders/{START + dt.timedelta(days=1)}/part-000.csv"
    path = data / rel
    header, *lines = path.read_bytes().rstrip(b"\n").split(b"\n")
    kept = [*lines[: len(lines) // 2], b"1,2,3"]  # half the rows, and one short row for quarantine
    path.write_bytes(b"\n".join([header, *kept]) + b"\n")
    total_before = wh.sql("select count(*) from raw.shop__orders")[0][0]
    old_rows = raw_counts(wh, "shop__orders")[rel]

    refused = wh.load(data)
    assert not refused.ok
    [r] = [r for r in refused.results if r.status == "refused"]
    assert r.file.rel == rel
    assert "--reload" in r.message
    assert "content changed" in r.message
    assert wh.sql("select count(*) from raw.shop__orders")[0][0] == total_before

    reloaded = wh.load(data, reload=True)
    assert reloaded.ok
    [r] = [r for r in reloaded.results if r.status == "reloaded"]
    good = sum(1 for line in kept if line.count(b",") >= 6 and not line.startswith(b"1,2,3"))
    bad_before = [
        n
        for (n,) in wh.sql(f"select line_number from raw._elt_quarantine where file_path = '{rel}'")
    ]
    assert raw_counts(wh, "shop__orders")[rel] == r.rows_loaded
    assert r.rows_loaded + r.rows_quarantined == len(kept)
    assert (
        wh.sql("select count(*) from raw.shop__orders")[0][0]
        == total_before - old_rows + r.rows_loaded
    )
    assert (
        len(kept) + 1 in bad_before
    )  # the short row's line number, and only this version's rejects
    assert wh.sql(
        f"select rows_in_file, rows_loaded, rows_quarantined from raw._elt_manifest where file_path = '{rel}'"
    ) == [(len(kept), r.rows_loaded, r.rows_quarantined)]
    assert good >= r.rows_loaded - 1


def _reset(wh: Wh) -> None:
    """An empty warehouse: no DuckDB file, or no raw schema."""
    if wh.kind == "duckdb":
        for suffix in ("", ".wal"):
            Path(wh.env["ELT_DUCKDB_PATH"] + suffix).unlink(missing_ok=True)
        return
    wh.execute(["drop schema if exists raw cascade"])


def _loaded_files(wh: Wh) -> int:
    try:
        return int(wh.sql("select count(*) from raw._elt_manifest where status = 'loaded'")[0][0])
    except (duckdb.Error, psycopg2.Error):
        return 0


@pytest.mark.slow
def test_killed_load_leaves_no_partial_file_and_rerun_completes(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, GeneratorConfig(scale=0.3, seed=5, start=START, rates=RATES), days=12)
    n_files = sum(1 for p in data.rglob("part-*") if p.is_file())
    killed_mid_way = False
    env = {**os.environ, **wh.env}
    for attempt in range(5):
        _reset(wh)
        kill_load_after_first_file(wh.kind, data, env, tmp_path / f"load-{attempt}.jsonl")
        done = _loaded_files(wh)
        if 0 < done < n_files:
            killed_mid_way = True
            break
    assert killed_mid_way, "never caught the loader mid-way"
    # every file the manifest calls loaded has exactly its rows; no other file has any
    for table in RAW_TABLES:
        counts = raw_counts(wh, table)
        manifest = dict(
            wh.sql(
                f"select file_path, rows_loaded from raw._elt_manifest where raw_table = 'raw.{table}' and status = 'loaded'"
            )
        )
        assert counts == {k: v for k, v in manifest.items() if v}, table
    report = wh.load(data)
    assert report.ok
    expected = records(data)
    for table in RAW_TABLES:
        dupes = wh.sql(
            f"select count(*) from (select _source_file, _row_number from {wh.raw(table)} group by 1, 2 having count(*) > 1) d"
        )
        assert dupes == [(0,)], table
    manifest = {
        r[0]: r[1:]
        for r in wh.sql(
            "select file_path, rows_in_file, rows_loaded, rows_quarantined from raw._elt_manifest"
        )
    }
    assert len(manifest) == len(expected) == n_files
    for rel, rec in expected.items():
        assert manifest[rel][0] == rec["rows"] == manifest[rel][1] + manifest[rel][2]
    assert sum(sum(raw_counts(wh, t).values()) for t in RAW_TABLES) == sum(
        v[1] for v in manifest.values()
    )
