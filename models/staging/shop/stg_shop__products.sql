{%- set checks = [
    reject_check('product_id', safe_to_bigint('product_id'), 'a whole number'),
    reject_check('updated_at', safe_to_utc_timestamp('updated_at'), 'an ISO-8601 timestamp'),
    reject_check('unit_price', safe_to_numeric('unit_price'), 'a decimal number'),
] -%}

with

source as (

    {{ raw_rows(source('shop', 'products')) }}

),

cleaned as (

    select
        {{ safe_to_bigint('product_id') }} as product_id,
        {{ clean_text('sku') }} as sku,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_text('category') }} as category,
        {{ safe_to_numeric('unit_price') }} as unit_price,
        upper({{ clean_text('currency') }}) as currency_code,
        {{ safe_to_utc_timestamp('updated_at') }} as updated_at,
        {{ extract_date_from_path('_source_file') }} as extract_date,
        {{ reject_columns(checks) }},
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from cleaned
