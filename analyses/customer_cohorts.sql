-- Monthly cohorts: customers by the month of their first order, and how many of them order
-- again 0, 1, 2, ... months later, with their net revenue in US dollars.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

customer_orders as (

    select
        customers.customer_id,
        orders.net_revenue_usd,
        cast(
            extract(year from orders.ordered_at) * 12 + extract(month from orders.ordered_at)
            as integer
        ) as month_number,
        date_trunc('month', orders.ordered_at) as order_month
    from orders
    inner join customers
        on orders.customer_sk = customers.customer_sk
    where not orders.is_cancelled and customers.customer_id != -1

),

first_orders as (

    select
        customer_id,
        min(order_month) as cohort_month,
        min(month_number) as cohort_month_number
    from customer_orders
    group by customer_id

),

final as (

    select
        first_orders.cohort_month,
        customer_orders.month_number - first_orders.cohort_month_number as months_since_first_order,
        count(distinct customer_orders.customer_id) as customers,
        sum(customer_orders.net_revenue_usd) as net_revenue_usd
    from customer_orders
    inner join first_orders
        on customer_orders.customer_id = first_orders.customer_id
    group by
        first_orders.cohort_month,
        customer_orders.month_number - first_orders.cohort_month_number

)

select * from final
order by cohort_month, months_since_first_order
