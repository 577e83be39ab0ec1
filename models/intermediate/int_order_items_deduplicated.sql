{#-
    Order lines, once each: raw rows that are not rejects, one row per (order_id,
    line_number), the row loaded last winning (docs: current_version). Incremental: only
    rows loaded since the last run are read; a line they carry replaces the stored one.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_item_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['order_item_sk'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

new_rows as (

    select * from {{ ref('stg_shop__order_items') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is null

),

ranked as (

    select
        *,
        {{ to_utc('loaded_at') }} as source_loaded_at,
        row_number() over (
            partition by order_id, line_number
            order by {{ latest_version_first(loaded_at='loaded_at') }}
        ) as version_rank
    from new_rows

),

final as (

    select
        {{ surrogate_key(['order_id', 'line_number']) }} as order_item_sk,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        created_at,
        source_loaded_at,
        source_file,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
-- stored in arrival order (order ids grow with time): a run's lookups by order_id skip
-- the older row groups
order by order_id, line_number
