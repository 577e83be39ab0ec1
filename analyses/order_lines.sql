-- One order's lines, as support looks them up by order number (--vars '{order_id: 123}').
with

lines as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

final as (

    select
        lines.order_id,
        lines.line_number,
        lines.ordered_at,
        products.sku,
        products.product_name,
        lines.quantity,
        lines.unit_price,
        lines.discount_amount,
        lines.net_revenue,
        lines.currency_code,
        lines.net_revenue_usd
    from lines
    inner join products
        on lines.product_sk = products.product_sk
    where lines.order_id = {{ var('order_id', 1) }}

)

select * from final
order by line_number
