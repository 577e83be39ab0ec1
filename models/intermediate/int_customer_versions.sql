{#-
    Every version of every customer, from the CDC rows raw keeps: one row per
    (customer_id, updated_at), the row loaded last winning a tie, with its validity window.
    Incremental: a run reads the rows loaded since the last one and rewrites every version
    of the customers they touch, so the windows stay right when a version arrives late.
-#}
{{
    config(
        materialized='incremental',
        unique_key='customer_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['customer_id']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

new_rows as (

    select * from {{ ref('stg_shop__customers') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is null

),

candidates as (

    select
        customer_id,
        email,
        country_code,
        city,
        segment,
        created_at,
        updated_at,
        {{ to_utc('loaded_at') }} as source_loaded_at,
        source_file,
        source_row_number
    from new_rows

    {% if is_incremental() %}

        union all

        select
            customer_id,
            email,
            country_code,
            city,
            segment,
            created_at,
            valid_from as updated_at,
            source_loaded_at,
            source_file,
            source_row_number
        from {{ this }}
        where customer_id in (select new_rows.customer_id from new_rows)

    {% endif %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, updated_at
            order by {{ latest_version_first() }}
        ) as version_rank
    from candidates

),

final as (

    select
        {{ surrogate_key(['customer_id', 'updated_at']) }} as customer_version_sk,
        customer_id,
        email,
        country_code,
        city,
        segment,
        created_at,
        updated_at as valid_from,
        lead(updated_at) over (partition by customer_id order by updated_at) as valid_to,
        source_loaded_at,
        source_file,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
