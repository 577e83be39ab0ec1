"""Column lineage written by hand from the models' SQL, for columns of every mart: each
column's direct inputs (model, column, edge kind), or its origin when it has none.

Read against models/ when a model changes; the lineage tests on DuckDB, PostgreSQL and Spark
compare what elt.lineage computes with this table, edge for edge.
"""

from __future__ import annotations

from elt.lineage.project import ColumnRef, ProjectLineage

P, R, T, A = "passthrough", "rename", "transformation", "aggregation"
IOD, IOR = "int_order_items_deduplicated", "int_orders_resolved"
STAGED = (
    "stg_finance__fx_rates",
    "stg_payments__payments",
    "stg_shop__customers",
    "stg_shop__order_items",
    "stg_shop__orders",
    "stg_shop__products",
)

# "mart.column": {(input model, input column, kind)}, or the origin of a column with no input
EXPECTED: dict[str, set[tuple[str, str, str]] | str] = {
    # a key made by a macro (member_key: md5 of the natural key)
    "dim_channel.channel_sk": {("channels", "channel", T)},
    "dim_channel.channel_label": {("channels", "channel_label", P)},
    # renamed
    "dim_customer.signed_up_at": {("int_customer_versions", "created_at", R)},
    # a case around a macro (keyed_hash: HMAC with the key's two pads)
    "dim_customer.email_hash": {
        ("int_customer_versions", "email", T),
        ("stg_elt__email_hash_key", "inner_pad", T),
        ("stg_elt__email_hash_key", "outer_pad", T),
    },
    "dim_customer.is_current": {("int_customer_versions", "valid_to", T)},
    # a date spine: made by a table function, from no column
    "dim_date.date_key": "generated",
    "dim_date.month_name": "generated",
    "dim_geography.region": {("countries", "region", P)},
    "dim_order_status.is_revenue": {("order_statuses", "is_revenue", P)},
    "dim_payment_method.payment_method_sk": {("payment_methods", "payment_method", T)},
    "dim_product.list_price": {("int_product_versions", "unit_price", R)},
    # windows: lead() over a partition, row_number() over a partition
    "dim_product.valid_to": {
        ("int_product_versions", "valid_from", T),
        ("int_product_versions", "product_id", T),
        ("int_product_versions", "extract_date", T),
    },
    "dim_product.is_current": {
        ("int_product_versions", "product_id", T),
        ("int_product_versions", "extract_date", T),
    },
    "fct_order_items.quantity": {(IOD, "quantity", P)},
    # a cast to a date drops the time: a transformation
    "fct_order_items.order_date": {(IOD, "created_at", T), (IOR, "ordered_at", T)},
    "fct_order_items.order_date_key": {(IOD, "created_at", T), (IOR, "ordered_at", T)},
    "fct_order_items.gross_amount": {(IOD, "quantity", T), (IOD, "unit_price", T)},
    "fct_order_items.customer_sk": {(IOR, "customer_sk", T)},
    "fct_order_items.net_revenue_usd": {
        (IOD, "discount_amount", T),
        (IOD, "quantity", T),
        (IOD, "unit_price", T),
        (IOR, "is_cancelled", T),
        (IOR, "usd_per_unit", T),
    },
    "fct_orders.order_sk": {(IOR, "order_id", T)},
    "fct_orders.order_id": {(IOR, "order_id", P)},
    "fct_orders.hours_to_pay": {(IOR, "ordered_at", T), (IOR, "paid_at", T)},
    # an aggregation; and a count of rows, from no column
    "fct_orders.net_revenue_usd": {("fct_order_items", "net_revenue_usd", A)},
    "fct_orders.line_count": "generated",
    "fct_payments.attempted_at": {("int_payments_deduplicated", "created_at", R)},
    "fct_payments.is_succeeded": {("int_payments_deduplicated", "payment_status", T)},
    "fct_payments.amount_usd": {
        ("int_fx_rates_filled", "usd_per_unit", T),
        ("int_payments_deduplicated", "amount", T),
    },
    "rpt_customer_cohorts.customer_count": {("dim_customer", "customer_id", A)},
    "rpt_customer_cohorts.net_revenue_usd": {("fct_orders", "net_revenue_usd", A)},
    "rpt_daily_run_durations.total_seconds": {("stg_elt__runs", "run_seconds", A)},
    "rpt_daily_run_durations.run_date": {("stg_elt__runs", "run_started_at", T)},
    "rpt_daily_sales.region": {("dim_geography", "region", P)},
    "rpt_daily_sales.net_revenue_usd": {("fct_order_items", "net_revenue_usd", A)},
    "rpt_daily_test_results.tests_failed": {("rpt_dbt_node_runs", "node_status", A)},
    "rpt_dbt_node_runs.node_status": {("stg_elt__run_nodes", "node_status", P)},
    "rpt_model_timings.average_seconds": {("rpt_dbt_node_runs", "execution_seconds", A)},
    "rpt_monthly_product_sales.quantity": {("fct_order_items", "quantity", A)},
    "rpt_monthly_fulfilment.order_month": {("fct_orders", "ordered_at", T)},
    # a literal of the source's settings
    "rpt_pipeline_health.freshness_warn_hours": "constant",
    "rpt_pipeline_health.rows_loaded": {("stg_elt__file_loads", "rows_loaded", A)},
    # a union of the staging models: a literal per branch, and the same column of each
    "rpt_rejected_rows.source_table": "constant",
    "rpt_rejected_rows.rejected_value": {(m, "rejected_value", P) for m in STAGED},
    "rpt_runs.run_status": {("stg_elt__runs", "run_status", P)},
}

# columns that only join, group, filter or partition a mart (the facet's INDIRECT inputs)
EXPECTED_INDIRECT: dict[str, set[tuple[str, str, str]]] = {
    # the join-only key of the order lines to their order, and the lines grouped per order
    "fct_orders": {(IOR, "order_id", "JOIN"), ("fct_order_items", "order_id", "GROUP_BY")},
    "dim_product": {
        ("int_product_versions", "product_id", "WINDOW"),
        ("int_product_versions", "extract_date", "WINDOW"),
    },
    "rpt_daily_sales": {
        ("dim_product", "product_sk", "JOIN"),
        ("dim_geography", "geography_sk", "JOIN"),
        ("dim_product", "category", "GROUP_BY"),
    },
    "rpt_rejected_rows": {(m, "reject_reason", "FILTER") for m in STAGED},
}


def computed(lineage: ProjectLineage, name: str) -> set[tuple[str, str, str]] | str:
    ref = lineage.find(name)
    edges = lineage.edges[ref]
    if not edges:
        return lineage.origins[ref]
    return {(lineage.nodes[e.source.node].name, e.source.column, e.kind) for e in edges}


def differences(lineage: ProjectLineage) -> dict[str, tuple[object, object]]:
    """Every column (and mart's indirect inputs) where the computed lineage is not the table's:
    name -> (expected, computed)."""
    found: dict[str, tuple[object, object]] = {}
    for name, expected in EXPECTED.items():
        got = computed(lineage, name)
        if got != expected:
            found[name] = (expected, got)
    for mart, expected_indirect in EXPECTED_INDIRECT.items():
        uid = _uid(lineage, mart)
        got_indirect = {
            (lineage.nodes[e.source.node].name, e.source.column, e.kind)
            for e in lineage.indirect[uid]
        }
        if not expected_indirect <= got_indirect:
            found[f"{mart} (indirect)"] = (expected_indirect - got_indirect, got_indirect)
    return found


def unresolved_mart_columns(lineage: ProjectLineage) -> list[str]:
    """Mart columns that reach no raw (source or seed) column and are not marked constant or
    generated."""
    return [
        lineage.label(ref)
        for uid in lineage.built()
        if lineage.is_mart(uid)
        for ref in (ColumnRef(uid, c) for c in lineage.columns[uid])
        if lineage.origins[ref] not in ("constant", "generated") and not lineage.raw_sources(ref)
    ]


def _uid(lineage: ProjectLineage, name: str) -> str:
    return next(uid for uid, node in lineage.nodes.items() if node.name == name)
