{#-
    Each order's current state, merged from its CDC rows: the current version (docs:
    current_version) and the first time the order reached each status. Incremental: the
    rows loaded since the last run are merged into the orders they touch; both the current
    version and the milestones merge exactly (greatest version, earliest time), so an old
    version arriving late changes nothing it should not.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['customer_id']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}
{%- set milestones = ['placed', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'] %}

with

new_rows as (

    select * from {{ ref('stg_shop__orders') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is null

),

candidates as (

    select
        order_id,
        customer_id,
        order_status,
        currency_code,
        channel,
        coupon_code,
        placed_at,
        updated_at,
        {%- for status in milestones %}
        case when order_status = '{{ status }}' then updated_at end as {{ status }}_reached_at,
        {%- endfor %}
        {{ to_utc('loaded_at') }} as source_loaded_at,
        {{ to_utc('loaded_at') }} as version_loaded_at,
        source_file,
        source_row_number
    from new_rows

    {% if is_incremental() %}

        union all

        select
            order_id,
            customer_id,
            order_status,
            currency_code,
            channel,
            coupon_code,
            placed_at,
            updated_at,
            {%- for status in milestones %}
            {{ status }}_reached_at,
            {%- endfor %}
            source_loaded_at,
            version_loaded_at,
            source_file,
            source_row_number
        from {{ this }}
        where order_id in (select new_rows.order_id from new_rows)

    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by order_id
            order by {{ latest_version_first('updated_at', 'version_loaded_at') }}
        ) as version_rank
    from candidates

),

merged as (

    select
        order_id,
        {%- for status in milestones %}
        min({{ status }}_reached_at) as {{ status }}_reached_at,
        {%- endfor %}
        max(source_loaded_at) as source_loaded_at
    from candidates
    group by order_id

),

final as (

    select
        ranked.order_id,
        ranked.customer_id,
        ranked.order_status,
        ranked.currency_code,
        ranked.channel,
        ranked.coupon_code,
        ranked.placed_at,
        ranked.updated_at,
        {%- for status in milestones %}
        merged.{{ status }}_reached_at,
        {%- endfor %}
        merged.source_loaded_at,
        ranked.version_loaded_at,
        ranked.source_file,
        ranked.source_row_number
    from ranked
    inner join merged
        on ranked.order_id = merged.order_id
    where ranked.version_rank = 1

)

select * from final
