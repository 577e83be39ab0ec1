-- Median and 90th percentile hours from placement to delivery, by channel and month.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

dates as (

    select * from {{ ref('dim_date') }}

),

final as (

    select
        channels.channel_label,
        dates.year_number,
        dates.month_number,
        count(*) as delivered_orders,
        percentile_cont(0.5) within group (order by orders.hours_to_deliver)
            as median_hours_to_deliver,
        percentile_cont(0.9) within group (order by orders.hours_to_deliver) as p90_hours_to_deliver
    from orders
    inner join channels
        on orders.channel_sk = channels.channel_sk
    inner join dates
        on orders.order_date_key = dates.date_key
    where orders.is_delivered
    group by channels.channel_label, dates.year_number, dates.month_number

)

select * from final
order by channel_label, year_number, month_number
