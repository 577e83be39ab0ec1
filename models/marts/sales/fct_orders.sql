{#-
    One row per order (accumulating snapshot): the order header with its milestones and
    lags, and the totals of its lines from fct_order_items. Incremental by load: a run
    rebuilds the orders whose header changed or whose lines were rebuilt.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['order_sk'], 'unique': true},
            {'columns': ['order_date_key']},
            {'columns': ['customer_sk']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

-- depends_on: {{ ref('int_order_items_deduplicated') }}
{%- set watermark = loaded_watermark() %}

with

order_headers as {{ inline_cte() }} (

    select * from {{ ref('int_orders_resolved') }}

),

order_lines as {{ inline_cte() }} (

    select * from {{ ref('fct_order_items') }}

),

{% if is_incremental() %}

    orders_to_rebuild as (

        select order_id from order_headers
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

        union

        select order_id from order_lines
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

        union

        -- an order whose every line a restatement withdrew has no line left to say so
        select withdrawn.order_id from {{ ref('int_order_items_deduplicated') }} as withdrawn
        {{ loaded_after_watermark('withdrawn.source_loaded_at', watermark) }}
            and withdrawn.is_deleted

    ),

    headers as (

        select * from order_headers
        where order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)

    ),

    lines as (

        select * from order_lines
        where order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)

    ),

{% else %}

headers as (

    select * from order_headers

),

lines as (

    select * from order_lines

),

{% endif %}

line_totals as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as quantity,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_revenue) as net_revenue,
        sum(net_revenue_usd) as net_revenue_usd,
        max(source_loaded_at) as source_loaded_at
    from lines
    group by order_id

),

final as (

    select
        cast({{ surrogate_key(['headers.order_id']) }} as varchar(32)) as order_sk,
        cast(headers.order_id as bigint) as order_id,
        cast(headers.customer_sk as varchar(32)) as customer_sk,
        cast(headers.geography_sk as varchar(32)) as geography_sk,
        cast(headers.channel_sk as varchar(32)) as channel_sk,
        cast(headers.order_status_sk as varchar(32)) as order_status_sk,
        {{ date_key('headers.order_date') }} as order_date_key,
        {{ date_key('cast(headers.delivered_at as date)') }} as delivered_date_key,
        cast(headers.ordered_at as timestamp) as ordered_at,
        cast(headers.paid_at as timestamp) as paid_at,
        cast(headers.shipped_at as timestamp) as shipped_at,
        cast(headers.delivered_at as timestamp) as delivered_at,
        cast(headers.cancelled_at as timestamp) as cancelled_at,
        cast(headers.returned_at as timestamp) as returned_at,
        {{ hours_between('headers.ordered_at', 'headers.paid_at') }} as hours_to_pay,
        {{ hours_between('headers.paid_at', 'headers.shipped_at') }} as hours_to_ship,
        {{ hours_between('headers.shipped_at', 'headers.delivered_at') }} as hours_in_transit,
        {{ hours_between('headers.ordered_at', 'headers.delivered_at') }} as hours_to_deliver,
        cast(headers.currency_code as varchar(3)) as currency_code,
        cast(headers.coupon_code as varchar(30)) as coupon_code,
        cast(coalesce(line_totals.line_count, 0) as integer) as line_count,
        cast(coalesce(line_totals.quantity, 0) as integer) as quantity,
        cast(coalesce(line_totals.gross_amount, 0) as numeric(18, 2)) as gross_amount,
        cast(coalesce(line_totals.discount_amount, 0) as numeric(18, 2)) as discount_amount,
        cast(coalesce(line_totals.net_revenue, 0) as numeric(18, 2)) as net_revenue,
        cast(line_totals.net_revenue_usd as numeric(18, 2)) as net_revenue_usd,
        cast(headers.usd_per_unit as numeric(18, 8)) as usd_per_unit,
        headers.usd_per_unit is null as is_missing_fx_rate,
        headers.is_cancelled,
        headers.returned_at is not null as is_returned,
        headers.delivered_at is not null as is_delivered,
        cast(
            {{ greatest_of(['headers.source_loaded_at', 'line_totals.source_loaded_at']) }}
            as timestamp
        ) as source_loaded_at
    from headers
    left join line_totals
        on headers.order_id = line_totals.order_id

)

select * from final
