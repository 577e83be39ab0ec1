{#-
    Raw rows kept out of the facts and dimensions because a required value is missing or
    does not parse (docs: rejects), with the file, line, column, value and reason. The
    loader's quarantine holds the structurally broken lines; this holds the rest.
    Incremental by load: a run appends the rejects of the rows loaded since the last one.
-#}
{{
    config(
        materialized='incremental',
        unique_key='rejected_row_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['rejected_row_sk'], 'unique': true},
            {'columns': ['source_file']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}
{%- set staged = [
    ('shop.customers', ref('stg_shop__customers')),
    ('shop.products', ref('stg_shop__products')),
    ('shop.orders', ref('stg_shop__orders')),
    ('shop.order_items', ref('stg_shop__order_items')),
    ('payments.payments', ref('stg_payments__payments')),
    ('finance.fx_rates', ref('stg_finance__fx_rates')),
] %}

with

rejects as (

    {% for source_table, model in staged %}
    select
        '{{ source_table }}' as source_table,
        source_file,
        source_row_number,
        rejected_column,
        rejected_value,
        reject_reason,
        batch_id,
        {{ to_utc('loaded_at') }} as source_loaded_at
    from {{ model }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        cast({{ surrogate_key(['source_file', 'source_row_number']) }} as varchar(32))
            as rejected_row_sk,
        cast(source_table as varchar(100)) as source_table,
        cast(source_file as {{ text_type() }}) as source_file,
        cast(source_row_number as bigint) as source_row_number,
        cast(rejected_column as varchar(100)) as rejected_column,
        cast(rejected_value as {{ text_type() }}) as rejected_value,
        cast(reject_reason as varchar(200)) as reject_reason,
        cast(batch_id as varchar(100)) as batch_id,
        cast(source_loaded_at as timestamp) as source_loaded_at
    from rejects

)

select * from final
