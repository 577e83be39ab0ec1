-- Raw → fact: rows in raw = payments in the fact + rejects + superseded versions and
-- duplicates (documented exclusions); the fact holds each good payment id once.

with

staged as (

    select
        count(*) as raw_rows,
        sum(case when reject_reason is null then 1 else 0 end) as good_rows,
        count(distinct case when reject_reason is null then payment_id end) as distinct_payments
    from {{ ref('stg_payments__payments') }}

),

rejected as (

    select count(*) as rejected_rows
    from {{ ref('rpt_rejected_rows') }}
    where source_table = 'payments.payments'

),

fact as (

    select count(*) as fact_payments
    from {{ ref('fct_payments') }}

),

final as (

    select
        staged.raw_rows,
        fact.fact_payments,
        rejected.rejected_rows,
        staged.good_rows - staged.distinct_payments as superseded_rows
    from staged
    cross join rejected
    cross join fact
    where
        staged.raw_rows
        != fact.fact_payments + rejected.rejected_rows + staged.good_rows - staged.distinct_payments
        or fact.fact_payments != staged.distinct_payments

)

select * from final
