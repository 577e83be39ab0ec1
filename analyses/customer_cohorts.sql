-- Monthly cohorts: customers by the month of their first order, and how many of them order
-- again 0, 1, 2, ... months later, with their net revenue in US dollars (from the cohort mart,
-- which derives every customer's first order once per build).
with

cohorts as (

    select * from {{ ref('rpt_customer_cohorts') }}

),

final as (

    select
        cohort_month,
        months_since_first_order,
        customer_count as customers,
        net_revenue_usd
    from cohorts

)

select * from final
order by cohort_month, months_since_first_order
