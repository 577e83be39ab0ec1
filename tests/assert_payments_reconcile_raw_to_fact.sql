{#-
    Raw → fact, row by row: every good raw payment row (of the last loads in an
    incremental build; of all of raw when testing every row, docs: test_scope) has its
    payment in the fact, and every reject is listed in rpt_rejected_rows. When testing
    every row, also the count: rows in raw = payments + rejects + superseded versions and
    duplicates (documented exclusions), each good payment once in the fact.
-#}
{%- set staged_payments = ref('stg_payments__payments') %}

with

staged as (

    select * from {{ staged_payments }}
    where {{ recent_raw_rows() }}

),

payments as (

    select * from {{ ref('fct_payments') }}

),

rejected as (

    select * from {{ ref('rpt_rejected_rows') }}
    where source_table = 'payments.payments'

),

good_rows_without_a_payment as (

    select
        'a good raw row has no payment in fct_payments' as problem,
        staged.source_file,
        staged.source_row_number
    from staged
    where
        staged.reject_reason is null
        and not exists (
            select 1
            from payments
            where payments.payment_id = staged.payment_id
        )

),

rejects_not_listed as (

    select
        'a rejected raw row is missing from rpt_rejected_rows' as problem,
        staged.source_file,
        staged.source_row_number
    from staged
    where
        staged.reject_reason is not null
        and not exists (
            select 1
            from rejected
            where
                rejected.source_file = staged.source_file
                and rejected.source_row_number = staged.source_row_number
        )

),

{% if testing_all_rows() %}

    counts as (

        select
            count(*) as raw_rows,
            sum(case when reject_reason is null then 1 else 0 end) as good_rows,
            count(distinct case when reject_reason is null then payment_id end)
                as distinct_payments
        from staged

    ),

    totals_disagree as (

        select
            'raw rows != payments + rejects + superseded versions' as problem,
            cast(null as {{ dbt.type_string() }}) as source_file,
            cast(null as bigint) as source_row_number
        from counts
        where
            counts.raw_rows != (select count(*) from payments)
            + (select count(*) from rejected)
            + counts.good_rows - counts.distinct_payments
            or (select count(*) from payments) != counts.distinct_payments

    ),

{% endif %}

final as (

    select * from good_rows_without_a_payment
    union all
    select * from rejects_not_listed
    {% if testing_all_rows() %}
        union all
        select * from totals_disagree
    {% endif %}

)

select * from final
