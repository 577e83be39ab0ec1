{#-
    Order lines with their order's current status, customer, channel and currency, and
    their amounts in the order currency and in US dollars at the FX rate of the order
    day. Net revenue follows the business rule in docs: `net_revenue`.
-#}
with

items as (

    select * from {{ ref('stg_shop__order_items') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_filled') }}

),

joined as (

    select
        items.order_item_sk,
        items.order_id,
        items.line_number,
        items.product_id,
        orders.customer_id,
        orders.order_status,
        orders.channel,
        orders.currency_code,
        items.ordered_date,
        items.quantity,
        items.unit_price,
        items.discount_amount,
        items.has_invalid_values,
        coalesce(orders.placed_at, items.ordered_at) as ordered_at,
        orders.order_id is null as is_orphan_order
    from items
    -- an order's lines share its placement day; joining on it lets date filters reach both sides
    left join orders
        on
            items.order_id = orders.order_id
            and items.ordered_date = orders.placed_date

),

priced as (

    select
        joined.*,
        cast(joined.quantity * joined.unit_price as numeric(18, 2)) as gross_amount,
        fx_rates.usd_per_unit,
        coalesce(joined.order_status = 'cancelled', false) as is_cancelled
    from joined
    left join fx_rates
        on
            joined.ordered_date = fx_rates.rate_date
            and joined.currency_code = fx_rates.currency_code

),

final as (

    select
        order_item_sk,
        order_id,
        line_number,
        product_id,
        customer_id,
        order_status,
        channel,
        currency_code,
        ordered_at,
        ordered_date,
        quantity,
        unit_price,
        gross_amount,
        discount_amount,
        case
            when is_cancelled then cast(0 as numeric(18, 2))
            else cast(gross_amount - discount_amount as numeric(18, 2))
        end as net_revenue,
        usd_per_unit,
        {{ to_usd('gross_amount', 'usd_per_unit') }} as gross_amount_usd,
        {{ to_usd('discount_amount', 'usd_per_unit') }} as discount_amount_usd,
        case
            when is_cancelled then cast(0 as numeric(18, 2))
            else {{ to_usd('gross_amount - discount_amount', 'usd_per_unit') }}
        end as net_revenue_usd,
        is_cancelled,
        is_orphan_order,
        has_invalid_values
    from priced

)

select * from final
