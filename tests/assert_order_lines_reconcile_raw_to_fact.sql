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

    select order_id, line_number, 'missing from fct_order_items' as problem
    from (
        select order_id, line_number from raw_lines
        except
        select order_id, line_number from fact_lines
    ) as missing

),

not_in_raw as (

    select order_id, line_number, 'not in raw' as problem
    from (
        select order_id, line_number from fact_lines
        except
        select order_id, line_number from raw_lines
    ) as extra

),

final as (

    select * from missing_from_fact
    union all
    select * from not_in_raw

)

select * from final
