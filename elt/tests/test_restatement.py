"""Restatements without a full refresh: a corrected file reloaded with `elt load --reload`
flows through the incremental models by itself.

A day's order-lines file is delivered again with three lines changed: a price, a quantity,
and a line deleted. After `elt load --reload` and the next incremental build, every mart
shows the corrected figures and equals a `--full-refresh` of the same raw data.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.loader_helpers import Wh
from elt.tests.mart_checks import build, differing, fingerprints

pytestmark = pytest.mark.slow
MONDAY = dt.date(2025, 3, 3)
CONFIG = GeneratorConfig(scale=0.005, seed=23, start=MONDAY, rates=dict.fromkeys(MESS_KINDS, 0.0))


def _correct(path: Path) -> dict[tuple[int, int], tuple[float, int] | None]:
    """Rewrite the file: one line's price +10.00, another's quantity +1, a third deleted.
    Returns what each of them must read afterwards (order_id, line_number) -> (unit price,
    quantity), None for the deleted one."""
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    fields = list(rows[0])
    priced, counted, deleted = rows[0], rows[1], rows[2]
    priced["unit_price"] = f"{float(priced['unit_price']) + 10:.2f}"
    counted["quantity"] = str(int(counted["quantity"]) + 1)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in rows if r is not deleted)
    path.write_text(out.getvalue())

    def key(row: dict[str, str]) -> tuple[int, int]:
        return int(row["order_id"]), int(row["line_number"])

    return {
        key(priced): (float(priced["unit_price"]), int(priced["quantity"])),
        key(counted): (float(counted["unit_price"]), int(counted["quantity"])),
        key(deleted): None,
    }


def _compiled(work: Path, model: str) -> str:
    [path] = (work / "target" / "compiled").glob(f"*/models/*/{model}.sql")
    return path.read_text()


def test_a_reloaded_file_reaches_every_mart_without_a_full_refresh(wh: Wh, tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, CONFIG, days=3)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    generate(data, CONFIG, days=1, cont=True)
    assert wh.load(data).ok
    build(wh, tmp_path, allow_warnings=True)
    # a night without a reload does not look for withdrawn lines (the manifest says none)
    assert "withdrawn" not in _compiled(tmp_path, "int_order_items_deduplicated")

    [day_file] = sorted(
        (data / "shop" / "order_items" / (MONDAY + dt.timedelta(1)).isoformat()).glob("*.csv")
    )
    expected = _correct(day_file)
    reloaded = wh.load(data, reload=True)
    assert reloaded.ok, [r.message for r in reloaded.results]
    rel = day_file.relative_to(data).as_posix()
    [(first, finished)] = wh.sql(
        f"select first_loaded_at, finished_at from raw._elt_manifest where file_path = '{rel}'"
    )
    assert first < finished  # the reload keeps the file's first load time
    build(wh, tmp_path, allow_warnings=True)
    assert "withdrawn" in _compiled(tmp_path, "int_order_items_deduplicated")

    def lines() -> dict[tuple[int, int], tuple[float, int] | None]:
        found: dict[tuple[int, int], tuple[float, int] | None] = dict.fromkeys(expected)
        for order_id, line_number, price, quantity in wh.sql(
            "select order_id, line_number, unit_price, quantity from marts.fct_order_items "
            "where " + " or ".join(f"(order_id = {o} and line_number = {n})" for o, n in expected)
        ):
            found[(int(order_id), int(line_number))] = (float(price), int(quantity))
        return found

    assert lines() == expected
    incremental = fingerprints(wh)
    build(wh, tmp_path, "--full-refresh", allow_warnings=True)
    assert lines() == expected
    assert differing(incremental, fingerprints(wh)) == []
