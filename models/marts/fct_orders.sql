{{
    config(
        indexes=[
            {'columns': ['order_sk'], 'unique': true},
            {'columns': ['placed_date_key']},
            {'columns': ['customer_sk']},
        ],
    )
}}

with

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

milestones as (

    select * from {{ ref('int_order_milestones_pivoted') }}

),

order_lines as (

    select * from {{ ref('fct_order_items') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

geographies as (

    select * from {{ ref('dim_geography') }}

),

channels as (

    select * from {{ ref('dim_channel') }}

),

statuses as (

    select * from {{ ref('dim_order_status') }}

),

line_totals as (

    select
        order_id,
        count(*) as line_count,
        sum(quantity) as quantity,
        sum(gross_amount) as gross_amount,
        sum(discount_amount) as discount_amount,
        sum(net_revenue) as net_revenue,
        sum(net_revenue_usd) as net_revenue_usd
    from order_lines
    group by order_id

),

orders_with_milestones as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_status,
        orders.channel,
        orders.currency_code,
        orders.coupon_code,
        milestones.paid_at,
        milestones.shipped_at,
        milestones.delivered_at,
        milestones.cancelled_at,
        milestones.returned_at,
        coalesce(milestones.placed_at, orders.placed_at) as placed_at
    from orders
    left join milestones
        on orders.order_id = milestones.order_id

),

with_customer as (

    {{ scd2_lookup(
        'orders_with_milestones', 'customers',
        natural_key='customer_id', fact_key='customer_id', fact_time='placed_at',
        sk_name='customer_sk', dimension_sk='customer_sk',
    ) }}

),

final as (

    select
        cast({{ surrogate_key(['with_customer.order_id']) }} as varchar(32)) as order_sk,
        cast(with_customer.order_id as bigint) as order_id,
        cast(with_customer.customer_sk as varchar(32)) as customer_sk,
        cast(
            coalesce(geographies.geography_sk, {{ unknown_key() }}) as varchar(32)
        ) as geography_sk,
        cast(coalesce(channels.channel_sk, {{ unknown_key() }}) as varchar(32)) as channel_sk,
        cast(
            coalesce(statuses.order_status_sk, {{ unknown_key() }}) as varchar(32)
        ) as order_status_sk,
        {{ date_key('cast(with_customer.placed_at as date)') }} as placed_date_key,
        {{ date_key('cast(with_customer.delivered_at as date)') }} as delivered_date_key,
        cast(with_customer.placed_at as timestamp) as placed_at,
        cast(with_customer.paid_at as timestamp) as paid_at,
        cast(with_customer.shipped_at as timestamp) as shipped_at,
        cast(with_customer.delivered_at as timestamp) as delivered_at,
        cast(with_customer.cancelled_at as timestamp) as cancelled_at,
        cast(with_customer.returned_at as timestamp) as returned_at,
        {{ hours_between('with_customer.placed_at', 'with_customer.paid_at') }} as hours_to_pay,
        {{ hours_between('with_customer.paid_at', 'with_customer.shipped_at') }} as hours_to_ship,
        {{ hours_between('with_customer.shipped_at', 'with_customer.delivered_at') }}
            as hours_in_transit,
        {{ hours_between('with_customer.placed_at', 'with_customer.delivered_at') }}
            as hours_to_deliver,
        cast(with_customer.currency_code as varchar(3)) as currency_code,
        cast(with_customer.coupon_code as varchar(30)) as coupon_code,
        cast(coalesce(line_totals.line_count, 0) as integer) as line_count,
        cast(coalesce(line_totals.quantity, 0) as integer) as quantity,
        cast(coalesce(line_totals.gross_amount, 0) as numeric(18, 2)) as gross_amount,
        cast(coalesce(line_totals.discount_amount, 0) as numeric(18, 2)) as discount_amount,
        cast(coalesce(line_totals.net_revenue, 0) as numeric(18, 2)) as net_revenue,
        cast(line_totals.net_revenue_usd as numeric(18, 2)) as net_revenue_usd,
        with_customer.order_status = 'cancelled' as is_cancelled,
        with_customer.returned_at is not null as is_returned,
        with_customer.delivered_at is not null as is_delivered
    from with_customer
    left join customers
        on with_customer.customer_sk = customers.customer_sk
    left join geographies
        on customers.country_code = geographies.country_code
    left join channels
        on with_customer.channel = channels.channel
    left join statuses
        on with_customer.order_status = statuses.order_status
    left join line_totals
        on with_customer.order_id = line_totals.order_id

)

select * from final
