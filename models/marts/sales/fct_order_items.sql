{#-
    Order lines priced and keyed: every dimension resolved as of the order time through
    the order header (int_orders_resolved). Incremental by load (docs: incremental_design):
    a run rebuilds the lines of every order that has new lines, whose header changed in
    what a line takes from it (keys_loaded_at: not a new status alone), or that sold a
    product whose history changed on or before the order time. A line a restatement
    withdrew (int_order_items_deduplicated.is_deleted) is deleted first (docs: restatements).
    On Spark the table is partitioned by order day, and a run rewrites only the days its
    lines touch.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_item_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        pre_hook="{{ delete_withdrawn('order_item_sk', ref('int_order_items_deduplicated')) }}",
        partition_by=['order_date'],
        indexes=postgres_indexes([
            {'columns': ['order_item_sk'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['order_date']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

order_lines as {{ inline_cte() }} (

    select * from {{ ref('int_order_items_deduplicated') }}

),

order_headers as {{ inline_cte() }} (

    select * from {{ ref('int_orders_resolved') }}

),

products as {{ inline_cte() }} (

    select * from {{ ref('dim_product') }}

),

{% if is_incremental() %}

    changed_products as (

        select
            product_id,
            min(valid_from) as changed_from
        from products
        {{ loaded_after_watermark('source_loaded_at', watermark) }}
        group by product_id

    ),

    orders_to_rebuild as (

        select order_id from order_lines
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

        union

        select order_id from order_headers
        {{ loaded_after_watermark('keys_loaded_at', watermark) }}

        union

        select built.order_id
        from {{ this }} as built
        inner join changed_products
            on
                built.product_id = changed_products.product_id
                and built.ordered_at >= changed_products.changed_from

    ),

    order_lines_to_rebuild as (

        select order_lines.*
        from order_lines
        where order_lines.order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)

    ),

    headers as (

        select order_headers.*
        from order_headers
        where order_headers.order_id in (select orders_to_rebuild.order_id from orders_to_rebuild)

    ),

{% else %}

order_lines_to_rebuild as (

    select * from order_lines

),

headers as (

    select * from order_headers

),

{% endif %}

-- when each order's lines last changed, a withdrawn line included: the order's other lines
-- carry it, so the reports over this fact rebuild its day
order_changes as (

    select
        order_id,
        max(source_loaded_at) as lines_changed_at
    from order_lines_to_rebuild
    group by order_id

),

lines as (

    select
        order_lines_to_rebuild.*,
        order_changes.lines_changed_at
    from order_lines_to_rebuild
    inner join order_changes
        on order_lines_to_rebuild.order_id = order_changes.order_id
    where not order_lines_to_rebuild.is_deleted

),

with_header as (

    select
        lines.order_item_sk,
        lines.order_id,
        lines.line_number,
        lines.product_id,
        lines.quantity,
        lines.unit_price,
        lines.discount_amount,
        -- a line whose order has not arrived yet keeps its own time and unknown members
        coalesce(headers.ordered_at, lines.created_at) as ordered_at,
        coalesce(headers.customer_sk, {{ unknown_key() }}) as customer_sk,
        coalesce(headers.geography_sk, {{ unknown_key() }}) as geography_sk,
        coalesce(headers.channel_sk, {{ unknown_key() }}) as channel_sk,
        headers.currency_code,
        headers.usd_per_unit,
        coalesce(headers.is_cancelled, false) as is_cancelled,
        headers.order_id is null as is_orphan_order,
        {{ greatest_of(['lines.lines_changed_at', 'headers.keys_loaded_at']) }}
            as source_loaded_at
    from lines
    left join headers
        on lines.order_id = headers.order_id

),

with_product as (

    {{ scd2_lookup(
        'with_header', 'products',
        natural_key='product_id', fact_key='product_id', fact_time='ordered_at',
        sk_name='product_sk', dimension_sk='product_sk',
    ) }}

),

priced as (

    select
        with_product.*,
        cast(with_product.quantity * with_product.unit_price as numeric(18, 2)) as gross_amount,
        cast(
            with_product.quantity * with_product.unit_price - with_product.discount_amount
            as numeric(18, 2)
        ) as line_amount
    from with_product

),

final as (

    select
        cast(priced.order_item_sk as varchar(32)) as order_item_sk,
        cast(priced.order_id as bigint) as order_id,
        cast(priced.line_number as integer) as line_number,
        {{ date_key('cast(priced.ordered_at as date)') }} as order_date_key,
        cast(priced.ordered_at as date) as order_date,
        cast(priced.ordered_at as timestamp) as ordered_at,
        cast(priced.customer_sk as varchar(32)) as customer_sk,
        cast(priced.product_sk as varchar(32)) as product_sk,
        cast(priced.geography_sk as varchar(32)) as geography_sk,
        cast(priced.channel_sk as varchar(32)) as channel_sk,
        cast(priced.product_id as bigint) as product_id,
        cast(priced.currency_code as varchar(3)) as currency_code,
        cast(priced.quantity as integer) as quantity,
        cast(priced.unit_price as numeric(18, 2)) as unit_price,
        cast(priced.gross_amount as numeric(18, 2)) as gross_amount,
        cast(priced.discount_amount as numeric(18, 2)) as discount_amount,
        cast(
            case when priced.is_cancelled then 0 else priced.line_amount end as numeric(18, 2)
        ) as net_revenue,
        cast(priced.usd_per_unit as numeric(18, 8)) as usd_per_unit,
        {{ to_usd('priced.gross_amount', 'priced.usd_per_unit') }} as gross_amount_usd,
        {{ to_usd('priced.discount_amount', 'priced.usd_per_unit') }} as discount_amount_usd,
        case
            when priced.usd_per_unit is null then cast(null as numeric(18, 2))
            when priced.is_cancelled then cast(0 as numeric(18, 2))
            else {{ to_usd('priced.line_amount', 'priced.usd_per_unit') }}
        end as net_revenue_usd,
        priced.usd_per_unit is null as is_missing_fx_rate,
        priced.is_cancelled,
        priced.product_sk = {{ unknown_key() }} as is_unknown_product,
        priced.is_orphan_order,
        cast(
            {{ greatest_of(['priced.source_loaded_at', 'products.source_loaded_at']) }}
            as timestamp
        ) as source_loaded_at
    from priced
    left join products
        on priced.product_sk = products.product_sk

)

select * from final
-- stored in order-day order: a run's delete+insert then touches only the newest row
-- groups, and date filters skip the rest
order by order_date, order_id, line_number
