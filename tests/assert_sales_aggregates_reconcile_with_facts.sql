-- The pre-aggregated marts carry the facts' figures: product months the revenue and units of
-- the lines of known products; cohorts every order that was not cancelled of a known customer;
-- fulfilment months every delivered order.

with

lines as (

    select
        sum(net_revenue_usd) as net_revenue_usd,
        sum(quantity) as quantity
    from {{ ref('fct_order_items') }}
    where not is_unknown_product

),

product_months as (

    select
        sum(net_revenue_usd) as net_revenue_usd,
        sum(quantity) as quantity
    from {{ ref('rpt_monthly_product_sales') }}

),

orders as (

    select count(*) as order_count
    from {{ ref('fct_orders') }} as orders
    inner join {{ ref('dim_customer') }} as customers
        on orders.customer_sk = customers.customer_sk
    where not orders.is_cancelled and customers.customer_id != -1

),

cohorts as (

    select
        sum(order_count) as order_count,
        sum(case when months_since_first_order = 0 then customer_count else 0 end)
            as first_month_customers
    from {{ ref('rpt_customer_cohorts') }}

),

delivered as (

    select count(*) as order_count
    from {{ ref('fct_orders') }}
    where is_delivered

),

fulfilment_months as (

    select sum(delivered_orders) as order_count
    from {{ ref('rpt_monthly_fulfilment') }}

),

final as (

    select
        lines.net_revenue_usd as lines_usd,
        product_months.net_revenue_usd as product_months_usd,
        lines.quantity as lines_quantity,
        product_months.quantity as product_months_quantity,
        orders.order_count as orders,
        cohorts.order_count as cohort_orders,
        delivered.order_count as delivered_orders,
        fulfilment_months.order_count as fulfilment_months_orders
    from lines
    cross join product_months
    cross join orders
    cross join cohorts
    cross join delivered
    cross join fulfilment_months
    where
        coalesce(lines.net_revenue_usd, 0) != coalesce(product_months.net_revenue_usd, 0)
        or coalesce(lines.quantity, 0) != coalesce(product_months.quantity, 0)
        or coalesce(orders.order_count, 0) != coalesce(cohorts.order_count, 0)
        or coalesce(delivered.order_count, 0) != coalesce(fulfilment_months.order_count, 0)

)

select * from final
