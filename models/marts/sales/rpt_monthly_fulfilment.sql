{#-
    Delivery lead times per order month and channel: what fulfilment dashboards read
    (percentiles over a month's delivered orders, computed once per build instead of by every
    query). Incremental by load: a run rebuilds every order month that has a rebuilt order
    (a delivery rebuilds its order, so late deliveries reach their month).
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_month',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['monthly_fulfilment_sk'], 'unique': true},
            {'columns': ['order_month']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

orders as {{ inline_cte() }} (

    select
        channel_sk,
        is_delivered,
        hours_to_deliver,
        source_loaded_at,
        ordered_at,
        cast(date_trunc('month', ordered_at) as date) as order_month
    from {{ ref('fct_orders') }}

),

{{ rows_of_rebuilt_months('orders', 'ordered_at', watermark, 'orders_to_report') }}

ranked as (

    select
        order_month,
        channel_sk,
        is_delivered,
        hours_to_deliver,
        source_loaded_at,
        -- each delivered order's place in its month and channel, fastest first
        row_number() over (
            partition by order_month, channel_sk, is_delivered order by hours_to_deliver
        ) as delivery_rank,
        sum(case when is_delivered then 1 else 0 end)
            over (partition by order_month, channel_sk)
            as delivered_orders
    from orders_to_report

),

monthly as (

    select
        order_month,
        channel_sk,
        max(delivered_orders) as delivered_orders,
        {{ percentile_cont_exact(
            0.5, 'hours_to_deliver', 'delivery_rank', 'delivered_orders', 'is_delivered') }}
            as median_hours_to_deliver,
        {{ percentile_cont_exact(
            0.9, 'hours_to_deliver', 'delivery_rank', 'delivered_orders', 'is_delivered') }}
            as p90_hours_to_deliver,
        -- every order of the month counts for the watermark, delivered or not
        max(max(source_loaded_at)) over (partition by order_month) as source_loaded_at
    from ranked
    group by order_month, channel_sk

),

final as (

    select
        cast({{ surrogate_key(['order_month', 'channel_sk']) }} as varchar(32))
            as monthly_fulfilment_sk,
        cast(order_month as date) as order_month,
        cast(channel_sk as varchar(32)) as channel_sk,
        cast(delivered_orders as integer) as delivered_orders,
        cast(median_hours_to_deliver as numeric(12, 2)) as median_hours_to_deliver,
        cast(p90_hours_to_deliver as numeric(12, 2)) as p90_hours_to_deliver,
        cast(source_loaded_at as timestamp) as source_loaded_at
    from monthly
    where delivered_orders > 0

)

select * from final
