"""A published warehouse to audit candidates against, cloned per case, and the injected cases
of the audit's tests (elt/tests/test_audit.py): each edits the raw files of a new day the way
a real delivery goes wrong.

The base: 13 days of history from a Wednesday (2025-02-19 .. 2025-03-03), published as v1,
then one normal night (2025-03-04) as v2. A case adds the night of Wednesday 2025-03-05.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import os
import shutil
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from elt.generator.config import GeneratorConfig
from elt.generator.run import generate
from elt.tests.conftest import pg_settings, run_elt
from elt.tests.dbt_runner import dbt
from elt.tests.loader_helpers import Wh, make_wh

START = dt.date(2025, 2, 19)
HISTORY_DAYS = 13
CONFIG = GeneratorConfig(scale=0.01, seed=5, start=START)
CASE_DAY = dt.date(2025, 3, 5)  # a Wednesday (FX is published on business days)
ITEM_COLUMNS = ["order_id", "line_number", "product_id", "quantity", "unit_price", "discount"]


@dataclasses.dataclass
class Site:
    """A warehouse with its raw files and dbt's working folder."""

    wh: Wh
    work: Path

    @property
    def data(self) -> Path:
        return self.work / "data"

    @property
    def database(self) -> str | None:
        return self.wh.env.get("ELT_PG_DATABASE")

    def env(self, **extra: str) -> dict[str, str]:
        return {**self.wh.env, "DBT_TARGET_PATH": str(self.work / "target"), **extra}

    def elt(self, *args: str, **extra: str) -> Any:
        return run_elt(*args, "--target", self.wh.kind, env=self.env(**extra))

    def night(
        self, days: int = 1, edit: Any = None, config: GeneratorConfig = CONFIG
    ) -> tuple[Any, Any]:
        """Generate the next day(s), apply ``edit`` to the raw files, load, build, publish:
        (the build's and the publish's completed processes)."""
        fresh = not (self.data / "_meta" / "state" / "dataset.json").exists()
        generate(self.data, config, days=days, cont=not fresh)
        if edit is not None:
            edit(self)
        report = self.wh.load(self.data)
        assert report.ok, [r.message for r in report.results if not r.status.ok]
        built = dbt(self.work, self.wh.kind, "build", database=self.database)
        return built, self.elt("publish")

    def published(self, sql: str) -> list[tuple[Any, ...]]:
        """A query as analysts run it (DuckDB: the published file; PostgreSQL: the views)."""
        if self.wh.kind == "duckdb":
            reader = Wh(
                "duckdb", {**self.wh.env, "ELT_DUCKDB_PATH": str(self.work / "published.duckdb")}
            )
            return reader.sql(sql)
        return self.wh.sql(sql)


def base_site(kind: str, work: Path, database: str | None) -> Site:
    site = Site(make_wh(kind, work, database), work)
    for days in (HISTORY_DAYS, 1):
        built, published = site.night(days)
        assert built.returncode == 0, built.stdout[-4000:]
        assert published.returncode == 0, published.stdout + published.stderr
    return site


def clone(base: Site, work: Path, database: str | None) -> Site:
    """A copy of the base: its files (the published link kept a link), and on PostgreSQL a
    database made from the base's as a template."""
    shutil.copytree(base.work, work, dirs_exist_ok=True, symlinks=True)
    published = base.work / "published.duckdb"
    if published.exists():
        current = published.stat().st_ino
        for version in (base.work / "published.versions").glob("v*.duckdb"):
            if version.stat().st_ino == current:
                (work / "published.duckdb").unlink()
                os.link(work / "published.versions" / version.name, work / "published.duckdb")
    if database is not None:
        import psycopg2

        conn = psycopg2.connect(dbname="postgres", **pg_settings())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'create database "{database}" template "{base.database}"')
        conn.close()
    return Site(make_wh(base.wh.kind, work, database), work)


# --- the injected cases: each edits the new day's files ---------------------------------------


def _day_file(site: Site, table: str, day: dt.date = CASE_DAY, ext: str = "csv") -> Path:
    folder = site.data / table / day.isoformat()
    [path] = sorted(folder.glob(f"*.{ext}"))
    return path


def _edit_items(site: Site, change: Any, only_first: bool = False) -> None:
    edit_order_lines(_day_file(site, "shop/order_items"), change, only_first)


def edit_order_lines(path: Path, change: Any, only_first: bool = False) -> None:
    """Rewrite a file of order lines through ``change(row) -> row`` (lines that do not parse
    as a plain line are left as they are)."""
    lines = path.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    out, done = [lines[0]], False
    for raw in lines[1:]:
        try:
            [row] = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
            values = dict(zip(header, row, strict=True))
            int(values["quantity"])
            float(values["unit_price"])
        except (ValueError, UnicodeDecodeError):
            out.append(raw)
            continue
        if only_first and done:
            out.append(raw)
            continue
        changed = change(values)
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow([changed[h] for h in header])
        out.append(buf.getvalue().encode())
        done = True
    path.write_bytes(b"\n".join(out))


def quantity(value: int) -> Any:
    def edit(site: Site) -> None:
        _edit_items(site, lambda r: {**r, "quantity": str(value)}, only_first=True)

    return edit


def prices_times_100(site: Site) -> None:
    """Every unit price of the day typed in cents instead of units."""

    def change(r: dict[str, str]) -> dict[str, str]:
        discount = float(r["discount"]) if r["discount"].strip() else 0.0
        return {
            **r,
            "unit_price": f"{float(r['unit_price']) * 100:.2f}",
            "discount": f"{discount * 100:.2f}" if r["discount"].strip() else r["discount"],
        }

    _edit_items(site, change)


def lines_missing(site: Site) -> None:
    """The order lines' file of the day never arrives (orders and payments do)."""
    shutil.rmtree(_day_file(site, "shop/order_items").parent)


def delivered_twice(site: Site) -> None:
    """The day's orders, lines and payments delivered a second time under new names."""
    for table, ext in (
        ("shop/orders", "csv"),
        ("shop/order_items", "csv"),
        ("payments/payments", "jsonl"),
    ):
        path = _day_file(site, table, ext=ext)
        shutil.copyfile(path, path.with_name(f"resent-{path.name}"))


def fx_times_1000(currency: str) -> Any:
    """One currency's rate of the day published a thousand times too high."""

    def edit(site: Site) -> None:
        path = _day_file(site, "finance/fx_rates", ext="parquet")
        table = pq.read_table(path)
        rates = pc.if_else(
            pc.equal(table["currency"], currency),
            pc.multiply(table["usd_per_unit"], 1000.0),
            table["usd_per_unit"],
        )
        assert pc.any(pc.equal(table["currency"], currency)).as_py(), currency
        index = table.schema.get_field_index("usd_per_unit")
        pq.write_table(table.set_column(index, "usd_per_unit", rates), path)

    return edit


def restate(site: Site, month: str = "2025-02", share: float = 0.05) -> None:
    """Order lines of last month's older days delivered again with their quantity doubled,
    enough of them to move the month's net revenue by ``share``."""
    rows = site.wh.sql(
        "select order_id, line_number, product_id, quantity, unit_price, discount_amount,"
        " gross_amount, ordered_at, net_revenue_usd, usd_per_unit from marts.fct_order_items"
        f" where cast(order_date as varchar(10)) like '{month}-%'"
        " and order_date < date '2025-02-26' and not is_cancelled and net_revenue_usd > 0"
        " order by order_id, line_number"
    )
    [(month_total,)] = site.wh.sql(
        "select sum(net_revenue_usd) from marts.fct_order_items"
        f" where cast(order_date as varchar(10)) like '{month}-%'"
    )
    chosen, added = [], 0.0
    for r in rows:
        if added >= float(month_total) * share:
            break
        chosen.append(r)
        added += float(r[6]) * float(r[9])  # the gross amount again, in US dollars
    newest = max(p.name for p in (site.data / "shop" / "orders").iterdir())
    path = site.data / "shop" / "order_items" / newest / "restated.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*ITEM_COLUMNS, "created_at"])
        for r in chosen:
            w.writerow(
                [
                    r[0],
                    r[1],
                    r[2],
                    int(r[3]) * 2,
                    f"{float(r[4]):.2f}",
                    f"{float(r[5]):.2f}",
                    r[7].isoformat() + "Z",
                ]
            )
