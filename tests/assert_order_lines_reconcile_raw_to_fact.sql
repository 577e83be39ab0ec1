-- Raw → fact: every raw order line row is accounted for. Rows in raw = lines in the
-- fact + rejects (rpt_rejected_rows) + exact duplicates and superseded copies of a line
-- (documented exclusions); and the fact holds each distinct good line exactly once.

with

staged as (

    select
        count(*) as raw_rows,
        sum(case when reject_reason is null then 1 else 0 end) as good_rows,
        count(
            distinct case
                when reject_reason is null
                    then cast(order_id as {{ dbt.type_string() }})
                        || '-' || cast(line_number as {{ dbt.type_string() }})
            end
        ) as distinct_lines
    from {{ ref('stg_shop__order_items') }}

),

rejected as (

    select count(*) as rejected_rows
    from {{ ref('rpt_rejected_rows') }}
    where source_table = 'shop.order_items'

),

fact as (

    select count(*) as fact_lines
    from {{ ref('fct_order_items') }}

),

final as (

    select
        staged.raw_rows,
        fact.fact_lines,
        rejected.rejected_rows,
        staged.good_rows - staged.distinct_lines as duplicate_rows
    from staged
    cross join rejected
    cross join fact
    where
        staged.raw_rows
        != fact.fact_lines + rejected.rejected_rows + staged.good_rows - staged.distinct_lines
        or fact.fact_lines != staged.distinct_lines

)

select * from final
