{#-
    Revenue without a US dollar value (no FX rate on or before the order day; docs:
    usd_conversion): one row per such order line. A warning, so it shows in every build;
    assert_revenue_missing_fx_below_threshold fails the build when there are too many.
-#}
{{ config(severity='warn') }}

select
    order_item_sk,
    order_id,
    order_date,
    currency_code,
    net_revenue
from {{ ref('fct_order_items') }}
where is_missing_fx_rate
