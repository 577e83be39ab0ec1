"""The simulated shop: customers, products, orders and payments evolving day by day.

Everything is vectorised with numpy/pyarrow; no Python loop runs per row. Each day draws
from its own random stream ``(seed, date)``, so generating N days at once or in several
continued runs gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from elt.generator import reference as ref
from elt.generator.timefmt import DAY, HOUR, day_start, iso_utc

NONE = -1  # "no timestamp" in int64 time arrays
CUSTOMERS_AT_SCALE_1 = 100_000
NEW_CUSTOMERS_PER_DAY_AT_SCALE_1 = 250
PRODUCTS_AT_SCALE_1 = 5_000
ORDER_LINES_PER_DAY_AT_SCALE_1 = 1_000_000 / 90  # scale 1 ≈ 1M lines over the default 90 days
MEAN_LINES_PER_ORDER = 2.5


@dataclasses.dataclass
class WorldState:
    """Everything needed to generate the next day; persisted with the dataset."""

    customers: pa.Table
    products: pa.Table
    pending_orders: pa.Table  # order versions not yet exported (future status changes)
    pending_payments: pa.Table
    usd_per_unit: np.ndarray  # aligned with ref.FX_CURRENCIES
    next_ids: dict[str, int]


@dataclasses.dataclass
class DayOutput:
    """Clean rows of one day per table, ready for messiness; ``natural_at`` is each row's event time."""

    tables: dict[str, pa.Table]
    next_at: np.ndarray  # per row of ``orders``: time of that order's next version, or NONE


# ---------------------------------------------------------------- helpers


def _pick(values: tuple[str, ...], idx: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object)[idx], pa.string())


def money_text(cents: np.ndarray) -> pa.Array:
    """Non-negative cents as ``123.45`` text."""
    if len(cents) == 0:
        return pa.array([], pa.string())
    whole = (cents // 100).astype(str)
    frac = np.char.zfill((cents % 100).astype(str), 2)
    return pa.array(np.char.add(np.char.add(whole, "."), frac).astype(str))


def _country_arrays() -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    weights = np.array([c.weight for c in ref.COUNTRIES])
    n_cities = np.array([len(c.cities) for c in ref.COUNTRIES])
    offsets = np.concatenate([[0], np.cumsum(n_cities)[:-1]])
    cities = [city for c in ref.COUNTRIES for city in c.cities]
    return weights / weights.sum(), n_cities, offsets, cities


COUNTRY_P, N_CITIES, CITY_OFFSETS, CITIES = _country_arrays()
COUNTRY_CODES = tuple(c.code for c in ref.COUNTRIES)


def _country_index(codes: pa.ChunkedArray) -> np.ndarray:
    indexes: np.ndarray = pc.index_in(codes, value_set=pa.array(COUNTRY_CODES)).to_numpy()
    return indexes


def _city_for(rng: np.random.Generator, country_idx: np.ndarray) -> pa.Array:
    city_idx = CITY_OFFSETS[country_idx] + (
        rng.random(len(country_idx)) * N_CITIES[country_idx]
    ).astype(int)
    return _pick(tuple(CITIES), city_idx)


def _usd_per_unit_of(state: WorldState, currencies: np.ndarray) -> np.ndarray:
    table = dict(zip(ref.FX_CURRENCIES, state.usd_per_unit, strict=True))
    table["USD"] = 1.0
    keys = np.array(list(table))
    vals = np.array(list(table.values()))
    order = np.argsort(keys)
    return vals[order][np.searchsorted(keys[order], currencies)]


# ---------------------------------------------------------------- creation


def new_customers(rng: np.random.Generator, first_id: int, n: int, t0: int, t1: int) -> pa.Table:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    first = rng.integers(len(ref.FIRST_NAMES), size=n)
    last = rng.integers(len(ref.LAST_NAMES), size=n)
    country = rng.choice(len(ref.COUNTRIES), size=n, p=COUNTRY_P)
    first_names = _pick(ref.FIRST_NAMES, first)
    last_names = _pick(ref.LAST_NAMES, last)
    local = pc.binary_join_element_wise(
        pc.utf8_lower(first_names),
        pc.replace_substring(pc.utf8_lower(last_names), " ", ""),
        pc.cast(pa.array(ids), pa.string()),
        ".",
    )
    email = pc.binary_join_element_wise(
        local, _pick(ref.EMAIL_DOMAINS, rng.integers(len(ref.EMAIL_DOMAINS), size=n)), "@"
    )
    has_phone = rng.random(n) < 0.6
    phone_digits = rng.integers(100_000_000, 999_999_999, size=n).astype(str)
    phone = pa.array(np.char.add("+1", phone_digits).astype(str), mask=~has_phone)
    created = rng.integers(t0, t1, size=n, dtype=np.int64)
    return pa.table(
        {
            "customer_id": ids,
            "first_name": first_names,
            "last_name": last_names,
            "email": email,
            "phone": phone,
            "country_code": _pick(COUNTRY_CODES, country),
            "city": _city_for(rng, country),
            "segment": _pick(
                ref.SEGMENTS, rng.choice(len(ref.SEGMENTS), size=n, p=[0.7, 0.2, 0.08, 0.02])
            ),
            "created_at": created,
            "updated_at": created,
        }
    )


def new_products(rng: np.random.Generator, first_id: int, n: int, t0: int, t1: int) -> pa.Table:
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    name = pc.binary_join_element_wise(
        _pick(ref.ADJECTIVES, rng.integers(len(ref.ADJECTIVES), size=n)),
        _pick(ref.NOUNS, rng.integers(len(ref.NOUNS), size=n)),
        " ",
    )
    price_cents = np.maximum(99, np.round(np.exp(rng.normal(3.2, 0.8, size=n)) * 100)).astype(
        np.int64
    )
    return pa.table(
        {
            "product_id": ids,
            "sku": pc.binary_join_element_wise(
                "SKU", pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 6, "0"), "-"
            ),
            "product_name": name,
            "category": _pick(ref.CATEGORIES, rng.integers(len(ref.CATEGORIES), size=n)),
            "price_cents": price_cents,
            "currency": _pick(("USD", "EUR", "GBP"), rng.choice(3, size=n, p=[0.7, 0.2, 0.1])),
            "is_active": np.ones(n, dtype=bool),
            "updated_at": rng.integers(t0, t1, size=n, dtype=np.int64),
        }
    )


def initial_state(seed: int, scale: float, start: dt.date) -> WorldState:
    rng = np.random.default_rng([seed, 0])
    t1 = day_start(start)
    t0 = t1 - 730 * DAY
    n_customers = max(50, round(scale * CUSTOMERS_AT_SCALE_1))
    n_products = max(30, round(scale * PRODUCTS_AT_SCALE_1))
    return WorldState(
        customers=new_customers(rng, 1, n_customers, t0, t1),
        products=new_products(rng, 1, n_products, t0, t1),
        pending_orders=_order_events_schema().empty_table(),
        pending_payments=_payment_events_schema().empty_table(),
        usd_per_unit=np.array(list(ref.USD_PER_UNIT_START.values())),
        next_ids={"customer": n_customers + 1, "product": n_products + 1, "order": 1, "payment": 1},
    )


def _order_events_schema() -> pa.Schema:
    return pa.schema(
        [
            ("order_id", pa.int64()),
            ("customer_id", pa.int64()),
            ("status", pa.string()),
            ("currency", pa.string()),
            ("channel", pa.string()),
            ("coupon_code", pa.string()),
            ("placed_at", pa.int64()),
            ("updated_at", pa.int64()),
            ("next_at", pa.int64()),
        ]
    )


def _payment_events_schema() -> pa.Schema:
    return pa.schema(
        [
            ("payment_id", pa.int64()),
            ("order_id", pa.int64()),
            ("method", pa.string()),
            ("amount_cents", pa.int64()),
            ("currency", pa.string()),
            ("status", pa.string()),
            ("failure_reason", pa.string()),
            ("created_at", pa.int64()),
            ("updated_at", pa.int64()),
        ]
    )


# ---------------------------------------------------------------- one day


def _evolve_customers(
    rng: np.random.Generator, state: WorldState, t0: int, scale: float, first_day: bool
) -> pa.Table:
    """Add new customers, change some; return the CDC rows of the day."""
    customers = state.customers
    n_old = customers.num_rows
    n_changed = rng.binomial(n_old, 0.004)
    changed = np.sort(rng.choice(n_old, size=n_changed, replace=False))
    change_at = rng.integers(t0, t0 + DAY, size=n_changed, dtype=np.int64)
    move_city = rng.random(n_changed) < 0.5
    segment = np.asarray(customers["segment"].to_numpy(zero_copy_only=False), dtype=object)
    city = np.asarray(customers["city"].to_numpy(zero_copy_only=False), dtype=object)
    country_idx = _country_index(customers["country_code"])
    new_segment = np.asarray(ref.SEGMENTS, dtype=object)[
        rng.integers(len(ref.SEGMENTS), size=n_changed)
    ]
    new_city = np.asarray(
        _city_for(rng, country_idx[changed]).to_numpy(zero_copy_only=False), dtype=object
    )
    segment[changed] = np.where(move_city, segment[changed], new_segment)
    city[changed] = np.where(move_city, new_city, city[changed])
    updated = customers["updated_at"].to_numpy().copy()
    updated[changed] = change_at
    customers = customers.set_column(
        customers.schema.get_field_index("segment"), "segment", pa.array(segment, pa.string())
    )
    customers = customers.set_column(
        customers.schema.get_field_index("city"), "city", pa.array(city, pa.string())
    )
    customers = customers.set_column(
        customers.schema.get_field_index("updated_at"), "updated_at", pa.array(updated)
    )

    n_new = rng.poisson(scale * NEW_CUSTOMERS_PER_DAY_AT_SCALE_1)
    fresh = new_customers(rng, state.next_ids["customer"], n_new, t0, t0 + DAY)
    state.next_ids["customer"] += n_new
    state.customers = pa.concat_tables([customers, fresh])

    if first_day:  # the first CDC extract is the full initial load
        return state.customers
    rows = pa.concat_tables([customers.take(pa.array(changed, pa.int64())), fresh])
    return rows.take(
        pc.sort_indices(rows, [("updated_at", "ascending"), ("customer_id", "ascending")])
    )


def _evolve_products(
    rng: np.random.Generator, state: WorldState, t0: int, scale: float
) -> pa.Table:
    """Reprice, delete, resurrect and add products; return the day's full extract."""
    p = state.products
    active = p["is_active"].to_numpy(zero_copy_only=False).copy()
    price = p["price_cents"].to_numpy().copy()
    updated = p["updated_at"].to_numpy().copy()
    act_idx = np.flatnonzero(active)
    inact_idx = np.flatnonzero(~active)
    perm = rng.permutation(act_idx)
    n_reprice = rng.binomial(len(act_idx), 0.02)
    n_delete = rng.binomial(len(act_idx), 0.003)
    reprice, delete = perm[:n_reprice], perm[n_reprice : n_reprice + n_delete]
    resurrect = inact_idx[rng.random(len(inact_idx)) < 0.05]
    price[reprice] = np.maximum(
        99, np.round(price[reprice] * rng.uniform(0.9, 1.15, size=len(reprice)))
    ).astype(np.int64)
    active[delete] = False
    active[resurrect] = True
    touched = np.concatenate([reprice, delete, resurrect])
    updated[touched] = rng.integers(t0, t0 + DAY, size=len(touched), dtype=np.int64)
    p = p.set_column(p.schema.get_field_index("price_cents"), "price_cents", pa.array(price))
    p = p.set_column(p.schema.get_field_index("is_active"), "is_active", pa.array(active))
    p = p.set_column(p.schema.get_field_index("updated_at"), "updated_at", pa.array(updated))
    n_new = rng.poisson(max(scale * 5, 0.2))
    fresh = new_products(rng, state.next_ids["product"], n_new, t0, t0 + DAY)
    state.next_ids["product"] += n_new
    state.products = pa.concat_tables([p, fresh])
    return state.products.filter(state.products["is_active"])


def _evolve_fx(rng: np.random.Generator, state: WorldState, day: dt.date) -> pa.Table | None:
    """Rates move and are published on business days only (weekends have no file)."""
    if day.weekday() >= 5:
        return None
    state.usd_per_unit = np.round(
        state.usd_per_unit * np.exp(rng.normal(0, 0.004, size=len(state.usd_per_unit))), 6
    )
    n = len(ref.FX_CURRENCIES)
    published = np.datetime64(day.isoformat()) + np.timedelta64(16, "h")
    return pa.table(
        {
            "rate_date": pa.array([day] * n, pa.date32()),
            "currency": pa.array(ref.FX_CURRENCIES),
            "usd_per_unit": pa.array(state.usd_per_unit, pa.float64()),
            "published_at": pa.array(
                np.full(n, published, dtype="datetime64[us]"), pa.timestamp("us", tz="UTC")
            ),
        }
    )


def fx_history(state: WorldState, day: dt.date, days: int) -> pa.Table | None:
    """The rates of the business days in the ``days`` calendar days before ``day``: what a
    real feed holds before the dataset starts, so orders of a weekend start have a rate. The
    rates are the world's opening ones (the walk starts at ``day``)."""
    dates = [d for d in (day - dt.timedelta(days=n) for n in range(days, 0, -1)) if d.weekday() < 5]
    if not dates:
        return None
    n = len(ref.FX_CURRENCIES)
    return pa.table(
        {
            "rate_date": pa.array([d for d in dates for _ in range(n)], pa.date32()),
            "currency": pa.array(list(ref.FX_CURRENCIES) * len(dates)),
            "usd_per_unit": pa.array(np.tile(state.usd_per_unit, len(dates)), pa.float64()),
            "published_at": pa.array(
                np.array(
                    [np.datetime64(d.isoformat()) + np.timedelta64(16, "h") for d in dates],
                    dtype="datetime64[us]",
                ).repeat(n),
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )


def _place_orders(
    rng: np.random.Generator, state: WorldState, t0: int, scale: float, with_coupons: bool
) -> tuple[pa.Table, pa.Table, pa.Table]:
    """New orders of the day: their whole future (status versions, items, payments)."""
    n = rng.poisson(scale * ORDER_LINES_PER_DAY_AT_SCALE_1 / MEAN_LINES_PER_ORDER)
    order_ids = np.arange(state.next_ids["order"], state.next_ids["order"] + n, dtype=np.int64)
    state.next_ids["order"] += n
    existing = state.customers.filter(pc.less(state.customers["created_at"], t0))
    cust_idx = rng.integers(existing.num_rows, size=n)
    customer_id = existing["customer_id"].to_numpy()[cust_idx]
    currency = np.asarray([c.currency for c in ref.COUNTRIES], dtype=object)[
        _country_index(existing["country_code"])[cust_idx]
    ]
    channel = np.asarray(ref.CHANNELS, dtype=object)[
        rng.choice(len(ref.CHANNELS), size=n, p=[0.55, 0.35, 0.10])
    ]
    coupon = np.asarray(ref.COUPON_CODES, dtype=object)[rng.integers(len(ref.COUPON_CODES), size=n)]
    coupon_mask = ~(rng.random(n) < 0.15) if with_coupons else np.ones(n, dtype=bool)

    # lifecycle: placed -> (cancelled) | paid -> (cancelled) | shipped -> delivered -> (returned)
    placed = t0 + rng.integers(0, DAY, size=n, dtype=np.int64)
    u = rng.random(n)
    cancel_unpaid = u < 0.03
    cancel_paid = (u >= 0.03) & (u < 0.05)
    paid = np.where(
        cancel_unpaid, NONE, placed + 60 + rng.exponential(1800, size=n).astype(np.int64)
    )
    cancelled = np.full(n, NONE, dtype=np.int64)
    cancelled[cancel_unpaid] = (
        placed[cancel_unpaid]
        + rng.exponential(6 * HOUR, size=cancel_unpaid.sum()).astype(np.int64)
        + 60
    )
    cancelled[cancel_paid] = (
        paid[cancel_paid] + rng.exponential(5 * HOUR, size=cancel_paid.sum()).astype(np.int64) + 60
    )
    goes_on = ~(cancel_unpaid | cancel_paid)
    shipped = np.where(goes_on, paid + rng.integers(4 * HOUR, 72 * HOUR, size=n), NONE)
    delivered = np.where(goes_on, shipped + rng.integers(DAY, 6 * DAY, size=n), NONE)
    returned = np.where(
        goes_on & (rng.random(n) < 0.05), delivered + rng.integers(2 * DAY, 20 * DAY, size=n), NONE
    )

    milestones = [
        ("placed", placed),
        ("paid", paid),
        ("cancelled", cancelled),
        ("shipped", shipped),
        ("delivered", delivered),
        ("returned", returned),
    ]
    times = np.stack([m[1] for m in milestones], axis=1)  # n x 6, in lifecycle order
    masked = np.where(times == NONE, np.iinfo(np.int64).max, times)
    order_of = np.argsort(masked, axis=1, kind="stable")
    sorted_t = np.take_along_axis(masked, order_of, axis=1)
    next_t = np.concatenate([sorted_t[:, 1:], np.full((n, 1), np.iinfo(np.int64).max)], axis=1)
    valid = sorted_t != np.iinfo(np.int64).max
    rows, cols = np.nonzero(valid)
    status_names = np.asarray([m[0] for m in milestones], dtype=object)
    nxt = next_t[rows, cols]
    events = pa.table(
        {
            "order_id": order_ids[rows],
            "customer_id": customer_id[rows],
            "status": pa.array(status_names[order_of[rows, cols]], pa.string()),
            "currency": pa.array(currency[rows], pa.string()),
            "channel": pa.array(channel[rows], pa.string()),
            "coupon_code": pa.array(coupon[rows], pa.string(), mask=coupon_mask[rows]),
            "placed_at": placed[rows],
            "updated_at": sorted_t[rows, cols],
            "next_at": np.where(nxt == np.iinfo(np.int64).max, NONE, nxt),
        },
        schema=_order_events_schema(),
    )

    # items: 1 + Poisson lines, products by popularity among active ones, priced in the order currency
    n_lines = 1 + rng.poisson(MEAN_LINES_PER_ORDER - 1, size=n)
    line_order = np.repeat(np.arange(n), n_lines)
    starts = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    line_number = np.arange(len(line_order)) - starts[line_order] + 1
    active = state.products.filter(state.products["is_active"])
    weights = 1.0 / (np.arange(active.num_rows) + 10.0)
    prod_idx = rng.choice(active.num_rows, size=len(line_order), p=weights / weights.sum())
    prod_currency = np.asarray(active["currency"].to_numpy(zero_copy_only=False), dtype=object)[
        prod_idx
    ].astype(str)
    usd = active["price_cents"].to_numpy()[prod_idx] * _usd_per_unit_of(state, prod_currency)
    unit_cents = np.maximum(
        1, np.round(usd / _usd_per_unit_of(state, currency[line_order].astype(str)))
    ).astype(np.int64)
    quantity = 1 + rng.poisson(0.4, size=len(line_order))
    has_discount = rng.random(len(line_order)) < 0.15
    discount = np.where(
        has_discount,
        np.round(quantity * unit_cents * rng.uniform(0.05, 0.25, size=len(line_order))),
        0,
    ).astype(np.int64)
    items = pa.table(
        {
            "order_id": order_ids[line_order],
            "line_number": line_number.astype(np.int64),
            "product_id": active["product_id"].to_numpy()[prod_idx],
            "quantity": quantity.astype(np.int64),
            "unit_price_cents": unit_cents,
            "discount_cents": discount,
            "created_at": placed[line_order],
        }
    )

    # payments: a success when paid (sometimes after a failed attempt), refunded on cancel/return
    total = np.bincount(line_order, weights=quantity * unit_cents - discount, minlength=n).astype(
        np.int64
    )
    is_paid = paid != NONE
    failed_first = is_paid & (rng.random(n) < 0.06)
    method = np.asarray(ref.PAYMENT_METHODS, dtype=object)[
        rng.choice(len(ref.PAYMENT_METHODS), size=n, p=[0.6, 0.25, 0.1, 0.05])
    ]
    fail_idx = np.flatnonzero(failed_first)
    ok_idx = np.flatnonzero(is_paid)
    n_pay = len(fail_idx) + len(ok_idx)
    pay_ids = np.arange(
        state.next_ids["payment"], state.next_ids["payment"] + n_pay, dtype=np.int64
    )
    state.next_ids["payment"] += n_pay
    fail_ids, ok_ids = pay_ids[: len(fail_idx)], pay_ids[len(fail_idx) :]
    fail_at = paid[fail_idx] - rng.integers(60, 900, size=len(fail_idx))
    refund_at = np.where(cancel_paid, cancelled, returned)[ok_idx]
    refunded = refund_at != NONE
    reasons = np.asarray(("card_declined", "insufficient_funds", "expired_card"), dtype=object)[
        rng.integers(3, size=len(fail_idx))
    ]

    def payment_rows(
        idx: np.ndarray,
        ids: np.ndarray,
        status: str,
        reason: np.ndarray | None,
        created: np.ndarray,
        updated: np.ndarray,
    ) -> pa.Table:
        return pa.table(
            {
                "payment_id": ids,
                "order_id": order_ids[idx],
                "method": pa.array(method[idx], pa.string()),
                "amount_cents": total[idx],
                "currency": pa.array(currency[idx], pa.string()),
                "status": pa.array([status] * len(idx), pa.string()),
                "failure_reason": pa.array(
                    reason if reason is not None else [None] * len(idx), pa.string()
                ),
                "created_at": created,
                "updated_at": updated,
            },
            schema=_payment_events_schema(),
        )

    payments = pa.concat_tables(
        [
            payment_rows(fail_idx, fail_ids, "failed", reasons, fail_at, fail_at),
            payment_rows(ok_idx, ok_ids, "succeeded", None, paid[ok_idx], paid[ok_idx]),
            payment_rows(
                ok_idx[refunded],
                ok_ids[refunded],
                "refunded",
                None,
                paid[ok_idx][refunded],
                refund_at[refunded],
            ),
        ]
    )
    return events, items, payments


def _due(pending: pa.Table, t_end: int) -> tuple[pa.Table, pa.Table]:
    """Split pending versions into those that happen before ``t_end`` (sorted) and the rest."""
    is_due = pc.less(pending["updated_at"], t_end)
    due = pending.filter(is_due)
    due = due.take(
        pc.sort_indices(due, [("updated_at", "ascending"), (due.column_names[0], "ascending")])
    )
    return due, pending.filter(pc.invert(is_due))


def simulate_day(
    state: WorldState, seed: int, scale: float, day: dt.date, first_day: bool, drifted: bool
) -> DayOutput:
    """Advance the world by one day and return that day's clean extracts (typed, times as text)."""
    rng = np.random.default_rng([seed, day.toordinal()])
    t0 = day_start(day)
    fx = _evolve_fx(rng, state, day)
    products = _evolve_products(rng, state, t0, scale)
    customers = _evolve_customers(rng, state, t0, scale, first_day)
    events, items, payments = _place_orders(rng, state, t0, scale, drifted)
    orders_due, state.pending_orders = _due(
        pa.concat_tables([state.pending_orders, events]), t0 + DAY
    )
    payments_due, state.pending_payments = _due(
        pa.concat_tables([state.pending_payments, payments]), t0 + DAY
    )

    tables: dict[str, pa.Table] = {
        "shop/customers": _with_times(customers, ["created_at", "updated_at"]),
        "shop/products": pa.table(
            {
                "product_id": products["product_id"],
                "sku": products["sku"],
                "product_name": products["product_name"],
                "category": products["category"],
                "unit_price": money_text(products["price_cents"].to_numpy()),
                "currency": products["currency"],
                "updated_at": iso_utc(products["updated_at"].to_numpy()),
            }
        ),
        "shop/orders": _with_times(
            orders_due.drop_columns(["next_at"] + ([] if drifted else ["coupon_code"])),
            ["placed_at", "updated_at"],
        ),
        "shop/order_items": pa.table(
            {
                "order_id": items["order_id"],
                "line_number": items["line_number"],
                "product_id": items["product_id"],
                "quantity": items["quantity"],
                "unit_price": money_text(items["unit_price_cents"].to_numpy()),
                "discount": money_text(items["discount_cents"].to_numpy()),
                "created_at": iso_utc(items["created_at"].to_numpy()),
            }
        ),
        "payments/payments": _with_times(payments_due, ["created_at", "updated_at"]),
    }
    if fx is not None:
        tables["finance/fx_rates"] = fx
    return DayOutput(tables=tables, next_at=orders_due["next_at"].to_numpy())


def _with_times(table: pa.Table, columns: list[str]) -> pa.Table:
    for name in columns:
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, iso_utc(table[name].to_numpy()))
    return table
