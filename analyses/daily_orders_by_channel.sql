-- Orders, cancelled orders and net revenue in US dollars per day and sales channel.
with

orders as (

    select * from {{ ref('fct_orders') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

final as (

    select
        orders.order_date_key,
        channels.channel_label,
        count(*) as orders,
        sum(case when orders.is_cancelled then 1 else 0 end) as cancelled_orders,
        sum(orders.net_revenue_usd) as net_revenue_usd
    from orders
    inner join channels
        on orders.channel_sk = channels.channel_sk
    group by orders.order_date_key, channels.channel_label

)

select * from final
order by order_date_key, channel_label
