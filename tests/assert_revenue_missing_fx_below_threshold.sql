-- Fails when more than var('fx_missing_line_share_error') of the order lines have no US
-- dollar value (no FX rate on or before the order day; docs: usd_conversion).

with

lines as (

    select
        count(*) as line_count,
        sum(case when is_missing_fx_rate then 1 else 0 end) as missing_fx_line_count
    from {{ ref('fct_order_items') }}

),

final as (

    select
        line_count,
        missing_fx_line_count,
        {{ var('fx_missing_line_share_error') }} as allowed_share
    from lines
    where missing_fx_line_count > line_count * {{ var('fx_missing_line_share_error') }}

)

select * from final
