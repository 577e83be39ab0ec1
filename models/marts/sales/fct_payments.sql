{#-
    Payment attempts with the conformed keys of their order (customer as of the order
    time, geography, channel, order day) from the order header, and US dollars at the FX
    rate of the payment day. Incremental by load: a run rebuilds the payments that
    changed, the payments of orders whose header changed, and those of a day whose FX
    rate changed.
-#}
{{
    config(
        materialized='incremental',
        unique_key='payment_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['payment_sk'], 'unique': true},
            {'columns': ['payment_date_key']},
            {'columns': ['customer_sk']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

payment_versions as {{ inline_cte() }} (

    select * from {{ ref('int_payments_deduplicated') }}

),

order_headers as {{ inline_cte() }} (

    select * from {{ ref('int_orders_resolved') }}

),

fx_rates as {{ inline_cte() }} (

    select * from {{ ref('int_fx_rates_filled') }}

),

methods as {{ inline_cte() }} (

    select * from {{ ref('payment_methods') }}

),

{% if is_incremental() %}

    changed_rates as (

        select
            currency_code,
            min(rate_date) as changed_from
        from fx_rates
        {{ loaded_after_watermark('source_loaded_at', watermark) }}
        group by currency_code

    ),

    payments_to_rebuild as (

        select payment_id from payment_versions
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

        union

        select payment_versions.payment_id
        from payment_versions
        inner join order_headers
            on payment_versions.order_id = order_headers.order_id
        {{ loaded_after_watermark('order_headers.keys_loaded_at', watermark) }}

        union

        select built.payment_id
        from {{ this }} as built
        inner join changed_rates
            on
                built.currency_code = changed_rates.currency_code
                and cast(built.attempted_at as date) >= changed_rates.changed_from

    ),

    payments as (

        select * from payment_versions
        where payment_id in (select payments_to_rebuild.payment_id from payments_to_rebuild)

    ),

{% else %}

payments as (

    select * from payment_versions

),

{% endif %}

final as (

    select
        cast({{ surrogate_key(['payments.payment_id']) }} as varchar(32)) as payment_sk,
        cast(payments.payment_id as bigint) as payment_id,
        cast(payments.order_id as bigint) as order_id,
        cast(coalesce(order_headers.customer_sk, {{ unknown_key() }}) as varchar(32))
            as customer_sk,
        cast(coalesce(order_headers.geography_sk, {{ unknown_key() }}) as varchar(32))
            as geography_sk,
        cast(coalesce(order_headers.channel_sk, {{ unknown_key() }}) as varchar(32))
            as channel_sk,
        cast({{ member_key('methods.payment_method') }} as varchar(32)) as payment_method_sk,
        {{ date_key('order_headers.order_date') }} as order_date_key,
        {{ date_key('cast(payments.created_at as date)') }} as payment_date_key,
        cast(payments.created_at as timestamp) as attempted_at,
        cast(payments.updated_at as timestamp) as updated_at,
        cast(payments.payment_status as varchar(20)) as payment_status,
        cast(payments.failure_reason as varchar(100)) as failure_reason,
        cast(payments.currency_code as varchar(3)) as currency_code,
        cast(payments.amount as numeric(18, 2)) as amount,
        cast(fx_rates.usd_per_unit as numeric(18, 8)) as usd_per_unit,
        {{ to_usd('payments.amount', 'fx_rates.usd_per_unit') }} as amount_usd,
        fx_rates.usd_per_unit is null as is_missing_fx_rate,
        payments.payment_status = 'succeeded' as is_succeeded,
        payments.payment_status = 'refunded' as is_refunded,
        order_headers.order_id is null as is_orphan_order,
        cast(
            {{ greatest_of([
                'payments.source_loaded_at',
                'order_headers.keys_loaded_at',
                'fx_rates.source_loaded_at',
            ]) }} as timestamp
        ) as source_loaded_at
    from payments
    left join order_headers
        on payments.order_id = order_headers.order_id
    left join fx_rates
        on
            cast(payments.created_at as date) = fx_rates.rate_date
            and payments.currency_code = fx_rates.currency_code
    left join methods
        on payments.payment_method = methods.payment_method

)

select * from final
