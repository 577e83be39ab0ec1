{#-
    Raw → fact, row by row: every good raw order-line row (of the last loads in an
    incremental build; of all of raw when testing every row, docs: test_scope) has its line
    in the fact, and every reject is listed in rpt_rejected_rows. When testing every row,
    also the count: rows in raw = fact lines + rejects + exact duplicates and superseded
    copies of a line (documented exclusions), each good line once in the fact.
-#}
{%- set staged_items = ref('stg_shop__order_items') %}

with

staged as (

    select * from {{ staged_items }}
    where {{ recent_raw_rows() }}

),

lines as (

    select * from {{ ref('fct_order_items') }}

),

rejected as (

    select * from {{ ref('rpt_rejected_rows') }}
    where source_table = 'shop.order_items'

),

good_rows_without_a_line as (

    select
        'a good raw row has no line in fct_order_items' as problem,
        staged.source_file,
        staged.source_row_number
    from staged
    where
        staged.reject_reason is null
        and not exists (
            select 1
            from lines
            where lines.order_id = staged.order_id and lines.line_number = staged.line_number
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
            count(
                distinct case
                    when reject_reason is null
                        then cast(order_id as {{ dbt.type_string() }})
                        || '-' || cast(line_number as {{ dbt.type_string() }})
                end
            ) as distinct_lines
        from staged

    ),

    totals_disagree as (

        select
            'raw rows != fact lines + rejects + duplicates' as problem,
            cast(null as {{ dbt.type_string() }}) as source_file,
            cast(null as bigint) as source_row_number
        from counts
        where
            counts.raw_rows != (select count(*) from lines)
            + (select count(*) from rejected)
            + counts.good_rows - counts.distinct_lines
            or (select count(*) from lines) != counts.distinct_lines

    ),

{% endif %}

final as (

    select * from good_rows_without_a_line
    union all
    select * from rejects_not_listed
    {% if testing_all_rows() %}
        union all
        select * from totals_disagree
    {% endif %}

)

select * from final
