-- Raw → fact: every distinct order line in raw is one fact line. Documented exclusions:
-- exact duplicates (counted once) and raw rows whose order_id, line_number or order
-- time does not parse (they cannot be placed; staging leaves them out).
-- Counts with count(distinct), which both databases sort rather than hash: raw tables
-- are large and PostgreSQL's default work_mem applies to tests.

with

raw_lines as (

    select
        count(
            distinct cast({{ safe_to_bigint('order_id') }} as {{ dbt.type_string() }})
            || '-' || cast({{ safe_to_integer('line_number') }} as {{ dbt.type_string() }})
        ) as lines
    from {{ source('shop', 'order_items') }}
    where {{ safe_to_utc_timestamp('created_at') }} is not null

),

fact_lines as (

    select
        count(*) as lines,
        count(
            distinct cast(order_id as {{ dbt.type_string() }})
            || '-'
            || cast(line_number as {{ dbt.type_string() }})
        ) as distinct_lines
    from {{ ref('fct_order_items') }}

),

final as (

    select
        raw_lines.lines as raw_order_lines,
        fact_lines.lines as fact_order_lines,
        fact_lines.distinct_lines as fact_distinct_order_lines
    from raw_lines
    cross join fact_lines
    where
        raw_lines.lines != fact_lines.lines
        or fact_lines.lines != fact_lines.distinct_lines

)

select * from final
