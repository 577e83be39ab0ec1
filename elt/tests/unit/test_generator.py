"""The generator: determinism, volume, messiness reconciliation, continuation, bad options."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from elt.generator import reference
from elt.generator.config import MESS_KINDS, STRUCTURAL_KINDS, GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import REPO, invoke_elt
from elt.tests.filecheck import data_lines, inspect_dataset, parse_line

START = dt.date(2025, 3, 1)
HIGH_RATES = {k: (0.01 if k in STRUCTURAL_KINDS else 0.05) for k in MESS_KINDS}


def tree_digest(root: Path, include_state: bool = True) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and (include_state or "state" not in p.parts)
    }


def cfg(**kw: object) -> GeneratorConfig:
    base: dict[str, object] = {
        "scale": 0.02,
        "seed": 7,
        "start": START,
        "drift_date": START + dt.timedelta(days=3),
    }
    base.update(kw)
    return GeneratorConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight days at raised rates, so every kind appears often enough to measure.

    Late rows arrive at most one day late, so only the last day's held rows are missing.
    """
    root = tmp_path_factory.mktemp("messy")
    generate(root, cfg(scale=0.05, rates=HIGH_RATES, max_late_days=1), days=8)
    return root


def test_same_seed_and_options_give_identical_bytes(tmp_path: Path) -> None:
    generate(tmp_path / "a", cfg(), days=5)
    generate(tmp_path / "b", cfg(), days=5)
    a, b = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    assert len(a) > 25
    assert a == b


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    generate(tmp_path / "a", cfg(), days=2)
    generate(tmp_path / "b", cfg(seed=8), days=2)
    rel = f"shop/orders/{START}/part-000.csv"
    assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "b" / rel).read_bytes()


def test_layout_and_formats(tmp_path: Path) -> None:
    generate(tmp_path, cfg(), days=3)
    for table, ext in [
        ("shop/customers", "csv"),
        ("shop/products", "csv"),
        ("shop/orders", "csv"),
        ("shop/order_items", "csv"),
        ("payments/payments", "jsonl"),
    ]:
        for i in range(3):
            day = START + dt.timedelta(days=i)
            assert (tmp_path / table / day.isoformat() / f"part-000.{ext}").is_file(), (table, day)
    # 2025-03-01 is a Saturday: FX rates are published on business days only
    fx_days = sorted(p.parent.name for p in tmp_path.glob("finance/fx_rates/*/part-000.parquet"))
    assert fx_days == ["2025-03-03"]
    fx = pq.read_table(tmp_path / "finance/fx_rates/2025-03-03/part-000.parquet")
    assert set(fx.column_names) == {"rate_date", "currency", "usd_per_unit", "published_at"}
    assert sorted(fx["currency"].to_pylist()) == sorted(reference.FX_CURRENCIES)


def test_volume_scales_with_the_factor(tmp_path: Path) -> None:
    small = generate(tmp_path / "s", cfg(scale=0.02, rates=dict.fromkeys(MESS_KINDS, 0.0)), days=4)
    large = generate(tmp_path / "l", cfg(scale=0.08, rates=dict.fromkeys(MESS_KINDS, 0.0)), days=4)
    for table in ("shop/order_items", "shop/orders", "payments/payments", "shop/products"):
        ratio = large.tables[table].rows / small.tables[table].rows
        assert 3.3 < ratio < 4.8, (table, ratio)
    # scale 1 is about 1M order lines over 90 days: ~11,100 per day
    per_day = large.tables["shop/order_items"].rows / 4 / 0.08
    assert 9_500 < per_day < 12_700


def test_every_kind_found_in_the_files_matches_the_record(messy: Path) -> None:
    found = inspect_dataset(messy)
    assert found
    for record_path in sorted((messy / "_meta/injected").glob("*.json")):
        record = json.loads(record_path.read_text())
        for rel, entry in record["files"].items():
            if entry["format"] == "parquet":
                continue
            counts, malformed, rows = found[rel]
            assert rows == entry["rows"], rel
            for kind in MESS_KINDS:
                assert counts[kind] == entry["counts"][kind], (
                    rel,
                    kind,
                    counts[kind],
                    entry["counts"][kind],
                )
            assert malformed == [line for line, _ in entry["malformed_lines"]], rel


def test_each_kind_appears_at_its_configured_rate(messy: Path) -> None:
    """Observed count vs. rate * eligible rows, within 4 binomial standard deviations + 2."""
    found = inspect_dataset(messy)
    totals: Counter[str] = Counter()
    eligible: Counter[str] = Counter()
    for rel, (counts, _, rows) in found.items():
        table = "/".join(Path(rel).parts[:2])
        totals.update(counts)
        structural_eligible = rows - counts["duplicate_in_file"] - counts["duplicate_across_days"]
        for kind in STRUCTURAL_KINDS:
            if not (table == "payments/payments" and kind == "wrong_column_count"):
                eligible[kind] += structural_eligible
        if table != "finance/fx_rates":
            eligible["duplicate_in_file"] += (
                rows - counts["duplicate_in_file"] - counts["duplicate_across_days"]
            )
        base = rows - counts["duplicate_in_file"] - counts["duplicate_across_days"]
        if table == "shop/customers":
            eligible["dirty_email"] += base
        if table in ("shop/customers", "shop/orders", "payments/payments"):
            eligible["dirty_timestamp"] += base
        if table in ("shop/order_items", "payments/payments"):
            eligible["orphan"] += base
            if Path(rel).parts[2] != str(
                START + dt.timedelta(days=7)
            ):  # held rows of the last day are still due
                eligible["late_arriving"] += base
        if table in ("shop/order_items", "shop/products"):
            eligible["unparseable_value"] += base
    checked = 0
    for kind, n in eligible.items():
        p = HIGH_RATES[kind]
        expected = n * p
        tolerance = 4 * math.sqrt(n * p * (1 - p)) + 2
        assert abs(totals[kind] - expected) <= tolerance, (kind, totals[kind], expected, tolerance)
        assert totals[kind] > 0, kind
        checked += 1
    assert checked >= 9
    # kinds whose eligible rows depend on other rows: present, and counted exactly above
    for kind in ("duplicate_across_days", "out_of_order", "dirty_null"):
        assert totals[kind] > 0, kind


def test_zero_rates_give_clean_files(tmp_path: Path) -> None:
    generate(tmp_path, cfg(rates=dict.fromkeys(MESS_KINDS, 0.0)), days=4)
    for counts, malformed, _ in inspect_dataset(tmp_path).values():
        assert sum(counts.values()) == 0
        assert malformed == []


def test_schema_drift_adds_a_column_from_the_drift_day(tmp_path: Path) -> None:
    generate(tmp_path, cfg(drift_date=START + dt.timedelta(days=2)), days=4)
    for i in range(4):
        header, _ = data_lines(
            tmp_path / f"shop/orders/{START + dt.timedelta(days=i)}/part-000.csv"
        )
        assert header is not None
        assert ("coupon_code" in header.decode()) == (i >= 2)
    record = json.loads(
        (tmp_path / f"_meta/injected/{START + dt.timedelta(days=2)}.json").read_text()
    )
    assert record["drifted"] is True


def test_late_rows_arrive_within_the_window(messy: Path) -> None:
    """Late items arrive at most max-late-days after the order was placed."""
    for path in sorted(messy.glob("shop/order_items/*/part-000.csv")):
        day = dt.date.fromisoformat(path.parent.name)
        header, lines = data_lines(path)
        assert header is not None
        names = header.decode().split(",")
        for line in lines:
            kind, row = parse_line(line, names)
            if kind is None and row is not None:
                created = dt.date.fromisoformat(row["created_at"][:10])
                assert 0 <= (day - created).days <= 1 + 1, (path, row)  # +1: yesterday's duplicate


def _rows(root: Path, table: str, day: str, today: bool) -> list[dict[str, Any]]:
    """Parsed rows of a table's files, of ``day`` only or of every other day; damaged lines left out."""
    out = []
    for path in sorted(root.glob(f"{table}/*/part-*")):
        if (path.parent.name == day) != today:
            continue
        header, lines = data_lines(path)
        names = next(csv.reader([header.decode()])) if header else None
        for line in lines:
            kind, row = parse_line(line, names)
            if kind is None and row is not None:
                out.append(row)
    return out


def test_continuing_equals_generating_in_one_go(tmp_path: Path) -> None:
    generate(tmp_path / "once", cfg(), days=6)
    generate(tmp_path / "split", cfg(), days=4)
    generate(tmp_path / "split", cfg(), days=2, cont=True)
    assert tree_digest(tmp_path / "once", include_state=False) == tree_digest(
        tmp_path / "split", include_state=False
    )


def test_continuing_by_one_day_keeps_ids_unique_and_updates_existing_records(
    tmp_path: Path,
) -> None:
    generate(tmp_path, cfg(scale=0.05, rates=HIGH_RATES), days=5)
    new_day = str(START + dt.timedelta(days=5))
    result = invoke_elt(
        "generate",
        "--out",
        str(tmp_path),
        "--days",
        "1",
        "--start",
        new_day,
        "--seed",
        "7",
        "--quiet",
    )
    assert result.returncode == 0, result.stderr

    # customers: today's new ones have unseen ids; today's changes update known customers
    known_customers = {
        int(r["customer_id"]) for r in _rows(tmp_path, "shop/customers", new_day, today=False)
    }
    customers = _rows(tmp_path, "shop/customers", new_day, today=True)
    born = {int(r["customer_id"]) for r in customers if str(r["created_at"]).startswith(new_day)}
    changed = {
        int(r["customer_id"]) for r in customers if not str(r["created_at"]).startswith(new_day)
    }
    assert born
    assert changed
    assert not born & known_customers
    # a change may refer to a customer whose only earlier line was damaged (quarantined): rare, and born earlier
    unknown_customers = changed - known_customers
    assert len(unknown_customers) <= 0.05 * len(changed) + 1
    assert all(c < min(born) for c in unknown_customers)

    # orders: 'placed' versions of today's orders have unseen ids, later versions update known orders
    known_orders = {
        int(r["order_id"]) for r in _rows(tmp_path, "shop/orders", new_day, today=False)
    }
    orders = _rows(tmp_path, "shop/orders", new_day, today=True)
    new_orders = {int(r["order_id"]) for r in orders if str(r["placed_at"]).startswith(new_day)}
    updated = [int(r["order_id"]) for r in orders if not str(r["placed_at"]).startswith(new_day)]
    assert new_orders
    assert updated
    assert not new_orders & known_orders, "a new order reused an existing id"
    assert min(new_orders) > max(known_orders)
    # an update may refer to an order whose only earlier line was damaged (quarantined); allow that share
    unknown = [o for o in updated if o not in known_orders]
    assert len(unknown) <= 0.05 * len(updated) + 1, unknown
    assert all(o < min(new_orders) for o in unknown)

    # order items of today's orders; refunds refer to payments made earlier or today
    items = _rows(tmp_path, "shop/order_items", new_day, today=True)
    assert {int(r["order_id"]) for r in items} <= new_orders | known_orders
    earlier = {r["payment_id"] for r in _rows(tmp_path, "payments/payments", new_day, today=False)}
    payments = _rows(tmp_path, "payments/payments", new_day, today=True)
    refunds = [p for p in payments if p["status"] == "refunded"]
    paid_today = {p["payment_id"] for p in payments if p["status"] == "succeeded"}
    assert refunds
    assert sum(p["payment_id"] in earlier | paid_today for p in refunds) >= 0.9 * len(refunds)


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False
    return True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "-1"], "--scale must be a positive number"),
        (["--scale", "0"], "--scale must be a positive number"),
        (["--start", "2025-02-30"], "--start must be a date as YYYY-MM-DD"),
        (["--start", "yesterday"], "--start must be a date as YYYY-MM-DD"),
        (["--days", "0"], "--days must be at least 1"),
        (["--rate", "duplicates=0.1"], "unknown messiness kind 'duplicates'"),
        (["--rate", "orphan=2"], "rate of orphan must be between 0 and 0.5"),
        (["--rate", "orphan"], "--rate expects KIND=VALUE"),
        (["--continue"], "no dataset to continue"),
    ],
)
def test_bad_options_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke_elt("generate", "--out", str(tmp_path / "d"), "--quiet", *args)
    assert result.returncode == 2
    assert message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_directory_fails_clearly(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = invoke_elt("generate", "--out", str(blocker / "data"), "--quiet")
    assert result.returncode == 2
    assert "is not writable" in result.stderr
    assert str(blocker / "data") in result.stderr


def test_existing_dataset_is_not_overwritten(tmp_path: Path) -> None:
    generate(tmp_path, cfg(), days=2)
    before = tree_digest(tmp_path)
    again = invoke_elt("generate", "--out", str(tmp_path), "--quiet", "--days", "1")
    assert again.returncode == 2
    assert "already holds a dataset" in again.stderr
    gap = invoke_elt(
        "generate",
        "--out",
        str(tmp_path),
        "--quiet",
        "--continue",
        "--start",
        "2025-03-09",
        "--seed",
        "7",
    )
    assert gap.returncode == 2
    assert "must start on 2025-03-03" in gap.stderr
    seed = invoke_elt("generate", "--out", str(tmp_path), "--quiet", "--continue", "--seed", "8")
    assert seed.returncode == 2
    assert "same seed" in seed.stderr
    assert tree_digest(tmp_path) == before


def test_summary_is_printed(tmp_path: Path) -> None:
    result = invoke_elt("generate", "--out", str(tmp_path), "--days", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "shop/order_items" in result.stdout
    assert "rows/s" in result.stdout


def test_countries_seed_matches_the_generator() -> None:
    with (REPO / "seeds/countries.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [
        (r["country_code"], r["country_name"], r["region"], r["currency_code"]) for r in rows
    ] == [(c.code, c.name, c.region, c.currency) for c in reference.COUNTRIES]


@pytest.mark.parametrize(
    ("seed", "column", "values"),
    [
        ("channels", "channel", reference.CHANNELS),
        ("payment_methods", "payment_method", reference.PAYMENT_METHODS),
        ("order_statuses", "order_status", reference.ORDER_STATUSES),
    ],
)
def test_small_seeds_list_every_value_the_generator_uses(
    seed: str, column: str, values: tuple[str, ...]
) -> None:
    with (REPO / f"seeds/{seed}.csv").open() as f:
        assert {r[column] for r in csv.DictReader(f)} == set(values)
