{{
    config(
        indexes=[
            {'columns': ['payment_sk'], 'unique': true},
            {'columns': ['payment_date_key']},
            {'columns': ['customer_sk']},
        ],
    )
}}

with

payments as (

    select * from {{ ref('stg_payments__payments') }}

),

orders as (

    select * from {{ ref('stg_shop__orders') }}

),

fx_rates as (

    select * from {{ ref('int_fx_rates_filled') }}

),

customers as (

    select * from {{ ref('dim_customer') }}

),

methods as (

    select * from {{ ref('dim_payment_method') }}

),

with_order as (

    select
        payments.*,
        orders.customer_id,
        fx_rates.usd_per_unit,
        orders.order_id is null as is_orphan_order
    from payments
    left join orders
        on payments.order_id = orders.order_id
    left join fx_rates
        on
            cast(payments.created_at as date) = fx_rates.rate_date
            and payments.currency_code = fx_rates.currency_code

),

with_customer as (

    {{ scd2_lookup(
        'with_order', 'customers',
        natural_key='customer_id', fact_key='customer_id', fact_time='created_at',
        sk_name='customer_sk', dimension_sk='customer_sk',
    ) }}

),

final as (

    select
        cast({{ surrogate_key(['with_customer.payment_id']) }} as varchar(32)) as payment_sk,
        cast(with_customer.payment_id as bigint) as payment_id,
        cast(with_customer.order_id as bigint) as order_id,
        cast(with_customer.customer_sk as varchar(32)) as customer_sk,
        cast(
            coalesce(methods.payment_method_sk, {{ unknown_key() }}) as varchar(32)
        ) as payment_method_sk,
        {{ date_key('cast(with_customer.created_at as date)') }} as payment_date_key,
        cast(with_customer.created_at as timestamp) as attempted_at,
        cast(with_customer.updated_at as timestamp) as updated_at,
        cast(with_customer.payment_status as varchar(20)) as payment_status,
        cast(with_customer.failure_reason as varchar(100)) as failure_reason,
        cast(with_customer.currency_code as varchar(3)) as currency_code,
        cast(with_customer.amount as numeric(18, 2)) as amount,
        cast(with_customer.usd_per_unit as numeric(18, 8)) as usd_per_unit,
        {{ to_usd('with_customer.amount', 'with_customer.usd_per_unit') }} as amount_usd,
        with_customer.payment_status = 'succeeded' as is_succeeded,
        with_customer.payment_status = 'refunded' as is_refunded,
        with_customer.is_orphan_order,
        with_customer.has_invalid_values
    from with_customer
    left join methods
        on with_customer.payment_method = methods.payment_method

)

select * from final
