-- Raw → fact: every distinct order line in raw is one fact line. Documented exclusions:
-- exact duplicates (counted once) and raw rows whose order_id, line_number or order
-- time does not parse (they cannot be placed; staging leaves them out).

with

raw_lines as (

    select distinct
        {{ safe_to_bigint('order_id') }} as order_id,
        {{ safe_to_integer('line_number') }} as line_number
    from {{ source('shop', 'order_items') }}
    where
        {{ safe_to_bigint('order_id') }} is not null
        and {{ safe_to_integer('line_number') }} is not null
        and {{ safe_to_utc_timestamp('created_at') }} is not null

),

fact_lines as (

    select order_id, line_number
    from {{ ref('fct_order_items') }}

),

missing_from_fact as (

    select raw_lines.order_id, raw_lines.line_number, 'missing from fct_order_items' as problem
    from raw_lines
    left join fact_lines
        on raw_lines.order_id = fact_lines.order_id and raw_lines.line_number = fact_lines.line_number
    where fact_lines.order_id is null

),

not_in_raw as (

    select fact_lines.order_id, fact_lines.line_number, 'not in raw' as problem
    from fact_lines
    left join raw_lines
        on fact_lines.order_id = raw_lines.order_id and fact_lines.line_number = raw_lines.line_number
    where raw_lines.order_id is null

),

final as (

    select * from missing_from_fact
    union all
    select * from not_in_raw

)

select * from final
