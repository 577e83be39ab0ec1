{#-
    Each payment's current version (docs: current_version), merged from the new and
    changed rows of the payments feed. Incremental: the rows loaded since the last run
    compete with the stored version of the payments they touch; an older version arriving
    late loses.
-#}
{{
    config(
        materialized='incremental',
        unique_key='payment_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['payment_id'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}
{%- set payment_columns = [
    'payment_id', 'order_id', 'payment_method', 'amount_cents', 'amount', 'currency_code',
    'payment_status', 'failure_reason', 'created_at', 'updated_at',
] %}

with

new_rows as (

    select * from {{ ref('stg_payments__payments') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is null

),

candidates as (

    select
        {{ payment_columns | join(',\n        ') }},
        {{ to_utc('loaded_at') }} as source_loaded_at,
        source_file,
        source_row_number
    from new_rows

    {% if is_incremental() %}

        union all

        select
            {{ payment_columns | join(',\n            ') }},
            source_loaded_at,
            source_file,
            source_row_number
        from {{ this }}
        where payment_id in (select new_rows.payment_id from new_rows)

    {% endif %}

),

ranked as (

    select
        *,
        max(source_loaded_at) over (partition by payment_id) as latest_loaded_at,
        row_number() over (
            partition by payment_id
            order by {{ latest_version_first('updated_at') }}
        ) as version_rank
    from candidates

),

final as (

    select
        {{ payment_columns | join(',\n        ') }},
        latest_loaded_at as source_loaded_at,
        source_file,
        source_row_number
    from ranked
    where version_rank = 1

)

select * from final
