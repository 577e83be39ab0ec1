-- Raw → fact: one fct_payments row per distinct payment id that parses in raw.

with

raw_payments as (

    select count(distinct {{ safe_to_bigint('payment_id') }}) as payments
    from {{ source('payments', 'payments') }}

),

fact_payments as (

    select count(*) as payments
    from {{ ref('fct_payments') }}

),

final as (

    select
        raw_payments.payments as in_raw,
        fact_payments.payments as in_fact
    from raw_payments
    cross join fact_payments
    where raw_payments.payments != fact_payments.payments

)

select * from final
