-- Net revenue in US dollars by region and month, with the share of cancelled lines.
-- The same net revenue, orders and average order value come from the semantic layer:
--   elt metrics query --saved-query revenue_by_region_and_month
-- (a test checks the two agree on net revenue). `orders` here adds up rpt_daily_sales'
-- per-category counts, so an order with lines in two categories counts twice; the metric
-- `orders` counts it once.
with

daily as (

    select * from {{ ref('rpt_daily_sales') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

final as (

    select
        dates.year_number,
        dates.month_number,
        daily.region,
        sum(daily.net_revenue_usd) as net_revenue_usd,
        sum(daily.order_count) as orders,
        round(100.0 * sum(daily.cancelled_line_count) / nullif(sum(daily.line_count), 0), 2)
            as cancelled_line_pct
    from daily
    inner join dates
        on daily.order_date_key = dates.date_key
    group by dates.year_number, dates.month_number, daily.region

)

select * from final
order by year_number asc, month_number asc, net_revenue_usd desc
