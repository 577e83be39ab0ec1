-- Fact → marts: the daily report and the order fact carry the same net revenue as the
-- order lines (orders only for lines that have an order header).

with

lines as (

    select
        sum(net_revenue_usd) as net_revenue_usd,
        sum(case when not is_orphan_order then net_revenue end) as net_revenue_of_known_orders
    from {{ ref('fct_order_items') }}

),

daily as (

    select sum(net_revenue_usd) as net_revenue_usd
    from {{ ref('rpt_daily_sales') }}

),

orders as (

    select sum(net_revenue) as net_revenue
    from {{ ref('fct_orders') }}

),

final as (

    select
        lines.net_revenue_usd as lines_usd,
        daily.net_revenue_usd as daily_usd,
        lines.net_revenue_of_known_orders as lines_known_orders,
        orders.net_revenue as orders_total
    from lines
    cross join daily
    cross join orders
    where
        coalesce(lines.net_revenue_usd, 0) != coalesce(daily.net_revenue_usd, 0)
        or coalesce(lines.net_revenue_of_known_orders, 0) != coalesce(orders.net_revenue, 0)

)

select * from final
