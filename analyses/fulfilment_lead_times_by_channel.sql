-- Median and 90th percentile hours from placement to delivery, by channel and month
-- (rpt_monthly_fulfilment computes them once per build, over every delivered order).
with

fulfilment as (

    select * from {{ ref('rpt_monthly_fulfilment') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

final as (

    select
        channels.channel_label,
        cast(extract(year from fulfilment.order_month) as integer) as year_number,
        cast(extract(month from fulfilment.order_month) as integer) as month_number,
        fulfilment.delivered_orders,
        fulfilment.median_hours_to_deliver,
        fulfilment.p90_hours_to_deliver
    from fulfilment
    inner join channels
        on fulfilment.channel_sk = channels.channel_sk

)

select * from final
order by channel_label, year_number, month_number
