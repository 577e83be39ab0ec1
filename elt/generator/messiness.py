"""Row-level messiness: deferral (late / out-of-order), dirty values, orphans, duplicates.

Each row carries a bitmask of the kinds injected into it, so the record written beside
the data counts exactly what is in each file. Structural damage (bad CSV/JSON lines)
happens when the file is written: see ``writer``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elt.generator.config import MESS_KINDS, GeneratorConfig
from elt.generator.timefmt import DAY, iso_variants
from elt.generator.world import NONE

BIT = {kind: 1 << i for i, kind in enumerate(MESS_KINDS)}
ORPHAN_ID_BASE = 900_000_000  # ids of orphans are drawn above every real id

# Which tables each row-level kind applies to, and on which column.
LATE_TABLES = ("shop/order_items", "payments/payments")
OUT_OF_ORDER_TABLES = ("shop/orders",)
DIRTY_EMAIL = {"shop/customers": "email"}
DIRTY_NULL = {"shop/customers": "phone", "payments/payments": "failure_reason"}
DIRTY_TIMESTAMP = {
    "shop/customers": "updated_at",
    "shop/orders": "updated_at",
    "payments/payments": "updated_at",
}
ORPHAN = {"shop/order_items": "product_id", "payments/payments": "order_id"}
UNPARSEABLE = {
    "shop/order_items": ("quantity", "unit_price", "discount"),
    "shop/products": ("unit_price",),
}
CROSS_DAY_DUPLICATE_TABLES = (
    "shop/customers",
    "shop/orders",
    "shop/order_items",
    "payments/payments",
)
IN_FILE_DUPLICATE_TABLES = (*CROSS_DAY_DUPLICATE_TABLES, "shop/products")
NULL_TOKENS_CSV = (" ", "NULL", "N/A", "null")
NULL_TOKENS_JSON = ("", " ", "NULL", "N/A")
BAD_NUMBERS = ("12,50", "1O", "N.A.", "3.4.5", "--2", "seven")


@dataclasses.dataclass
class Batch:
    """Rows of one table plus, per row, the kinds injected into it."""

    table: pa.Table
    flags: np.ndarray  # int64 bitmask per row
    protected: np.ndarray  # rows that must stay intact (duplicated or copies)

    @classmethod
    def of(cls, table: pa.Table, flags: np.ndarray | None = None) -> Batch:
        n = table.num_rows
        return cls(table, np.zeros(n, np.int64) if flags is None else flags, np.zeros(n, bool))

    def take(self, idx: np.ndarray) -> Batch:
        return Batch(
            self.table.take(pa.array(idx, pa.int64())), self.flags[idx], self.protected[idx]
        )


def concat(batches: list[Batch], columns: list[str]) -> Batch:
    """Concatenate, filling columns a batch lacks (older schema) with nulls."""
    tables = [b.table for b in batches]
    table = pa.concat_tables(tables, promote_options="permissive").select(columns)
    return Batch(
        table,
        np.concatenate([b.flags for b in batches]),
        np.concatenate([b.protected for b in batches]),
    )


def _choose(rng: np.random.Generator, eligible: np.ndarray, rate: float) -> np.ndarray:
    """A binomial number of distinct eligible row indices, sorted."""
    idx = np.flatnonzero(eligible)
    k = rng.binomial(len(idx), rate) if rate > 0 and len(idx) else 0
    return np.sort(rng.choice(idx, size=k, replace=False)) if k else np.empty(0, np.int64)


def _set(table: pa.Table, column: str, idx: np.ndarray, values: np.ndarray | pa.Array) -> pa.Table:
    """Replace ``column`` at rows ``idx``; integer columns stay integer when the values are."""
    i = table.schema.get_field_index(column)
    typ = table.schema.field(i).type
    values = np.asarray(values)
    if pa.types.is_integer(typ) and np.issubdtype(values.dtype, np.integer):
        ints = table[column].to_numpy().copy()
        ints[idx] = values
        return table.set_column(i, column, pa.array(ints, typ))
    text = np.asarray(
        pc.cast(table[column], pa.string()).to_numpy(zero_copy_only=False), dtype=object
    ).copy()
    text[idx] = values.astype(str).astype(object)
    return table.set_column(i, column, pa.array(text, pa.string()))


@dataclasses.dataclass
class Deferred:
    """Rows held back to a later day's file."""

    table: pa.Table  # rows, with _emit_day (ordinal) and _flags columns

    @classmethod
    def empty(cls) -> Deferred:
        return cls(
            pa.table({"_emit_day": pa.array([], pa.int64()), "_flags": pa.array([], pa.int64())})
        )

    def add(self, batch: Batch, emit_day: np.ndarray) -> None:
        more = batch.table.append_column("_emit_day", pa.array(emit_day, pa.int64())).append_column(
            "_flags", pa.array(batch.flags)
        )
        self.table = (
            pa.concat_tables([self.table, more], promote_options="permissive")
            if self.table.num_rows
            else more
        )

    def pop(self, day: dt.date) -> Batch:
        due = pc.equal(self.table["_emit_day"], day.toordinal())
        out = self.table.filter(due)
        self.table = self.table.filter(pc.invert(due))
        flags = out["_flags"].to_numpy()
        return Batch.of(out.drop_columns(["_emit_day", "_flags"]), flags)


def _seconds(iso_text: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Clean ``...Z`` timestamps back to epoch seconds."""
    text = pc.utf8_slice_codeunits(iso_text, 0, 19).to_numpy(zero_copy_only=False).astype(str)
    seconds: np.ndarray = text.astype("datetime64[s]").astype(np.int64)
    return seconds


def apply(
    name: str,
    fresh: pa.Table,
    next_at: np.ndarray | None,
    deferred: Deferred,
    previous: pa.Table | None,
    cfg: GeneratorConfig,
    rng: np.random.Generator,
    day: dt.date,
    is_json: bool,
) -> Batch:
    """All row-level messiness of one table on one day; returns the rows of the day's file."""
    rates = cfg.rates
    columns = fresh.column_names
    if not is_json:  # CSV files are text: keep every column as text so days concatenate
        fresh = fresh.cast(pa.schema([(c, pa.string()) for c in columns]))
    batch = Batch.of(fresh)

    # 1. hold some rows back: late arrivals and stale versions arriving after newer ones
    if name in LATE_TABLES:
        held = _choose(rng, np.ones(batch.table.num_rows, bool), rates["late_arriving"])
        late = batch.take(held)
        late.flags |= BIT["late_arriving"]
        deferred.add(late, day.toordinal() + rng.integers(1, cfg.max_late_days + 1, size=len(held)))
        batch = batch.take(np.setdiff1d(np.arange(batch.table.num_rows), held))
    if name in OUT_OF_ORDER_TABLES and next_at is not None:
        held = _choose(rng, next_at != NONE, rates["out_of_order"])
        stale = batch.take(held)
        stale.flags |= BIT["out_of_order"]
        next_day = (next_at[held] // DAY) + dt.date(1970, 1, 1).toordinal()
        deferred.add(stale, next_day + rng.integers(1, 3, size=len(held)))
        batch = batch.take(np.setdiff1d(np.arange(batch.table.num_rows), held))

    # 2. rows held back on earlier days that arrive today
    if name in LATE_TABLES or name in OUT_OF_ORDER_TABLES:
        batch = concat([batch, deferred.pop(day)], columns)

    n = batch.table.num_rows
    t = batch.table
    # 3. dirty values, orphans, unparseable numbers
    if name in DIRTY_EMAIL:
        col = DIRTY_EMAIL[name]
        idx = _choose(rng, np.ones(n, bool), rates["dirty_email"])
        emails = t[col].take(pa.array(idx, pa.int64()))
        upper_first = pc.binary_join_element_wise(
            pc.utf8_upper(pc.utf8_slice_codeunits(emails, 0, 1)),
            pc.utf8_slice_codeunits(emails, 1),
            "",
        )
        pads = np.asarray(("  ", " ", "\t"), dtype=object)[rng.integers(3, size=len(idx))]
        dirty = np.char.add(
            np.char.add(pads.astype(str), np.asarray(upper_first.to_pylist(), dtype=str)), " "
        )
        t = _set(t, col, idx, dirty)
        batch.flags[idx] |= BIT["dirty_email"]
    if name in DIRTY_NULL:
        col = DIRTY_NULL[name]
        idx = _choose(rng, pc.is_null(t[col]).to_numpy(zero_copy_only=False), rates["dirty_null"])
        tokens = NULL_TOKENS_JSON if is_json else NULL_TOKENS_CSV
        t = _set(
            t, col, idx, np.asarray(tokens, dtype=object)[rng.integers(len(tokens), size=len(idx))]
        )
        batch.flags[idx] |= BIT["dirty_null"]
    if name in DIRTY_TIMESTAMP:
        col = DIRTY_TIMESTAMP[name]
        idx = _choose(rng, np.ones(n, bool), rates["dirty_timestamp"])
        secs = _seconds(t[col].take(pa.array(idx, pa.int64())))
        offsets = np.asarray((-300, -240, 60, 120, 330, 540))[rng.integers(6, size=len(idx))]
        t = _set(
            t,
            col,
            idx,
            iso_variants(secs, rng.integers(3, size=len(idx)), offsets).to_numpy(
                zero_copy_only=False
            ),
        )
        batch.flags[idx] |= BIT["dirty_timestamp"]
    if name in ORPHAN:
        col = ORPHAN[name]
        idx = _choose(rng, np.ones(n, bool), rates["orphan"])
        t = _set(t, col, idx, ORPHAN_ID_BASE + rng.integers(0, 99_999_999, size=len(idx)))
        batch.flags[idx] |= BIT["orphan"]
    if name in UNPARSEABLE:
        cols = UNPARSEABLE[name]
        idx = _choose(rng, np.ones(n, bool), rates["unparseable_value"])
        which = rng.integers(len(cols), size=len(idx))
        bad = np.asarray(BAD_NUMBERS, dtype=object)[rng.integers(len(BAD_NUMBERS), size=len(idx))]
        for j, col in enumerate(cols):
            t = _set(t, col, idx[which == j], bad[which == j])
        batch.flags[idx] |= BIT["unparseable_value"]
    batch.table = t

    # 4. exact copies of yesterday's rows, then of today's rows
    parts = [batch]
    if name in CROSS_DAY_DUPLICATE_TABLES and previous is not None and previous.num_rows:
        idx = _choose(rng, np.ones(previous.num_rows, bool), rates["duplicate_across_days"])
        copies = Batch.of(
            previous.take(pa.array(idx, pa.int64())),
            np.full(len(idx), BIT["duplicate_across_days"]),
        )
        copies.protected[:] = True
        parts.append(copies)
    batch = concat(parts, columns) if len(parts) > 1 else batch
    if name in IN_FILE_DUPLICATE_TABLES:
        idx = _choose(rng, ~batch.protected, rates["duplicate_in_file"])
        batch.protected[idx] = True
        copies = batch.take(idx)
        copies.flags[:] = BIT["duplicate_in_file"]
        # each copy goes to a random later place in the file
        order = np.concatenate(
            [
                np.arange(batch.table.num_rows, dtype=float),
                idx + rng.uniform(0.01, batch.table.num_rows - idx + 0.99),
            ]
        )
        batch = concat([batch, copies], columns).take(np.argsort(order, kind="stable"))
    return batch
