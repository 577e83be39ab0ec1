{%- set checks = [
    reject_check('order_id', safe_to_bigint('order_id'), 'a whole number'),
    reject_check('line_number', safe_to_integer('line_number'), 'a whole number'),
    reject_check('product_id', safe_to_bigint('product_id'), 'a whole number'),
    reject_check('quantity', safe_to_integer('quantity'), 'a whole number'),
    reject_check('unit_price', safe_to_numeric('unit_price'), 'a decimal number'),
    reject_check('discount', safe_to_numeric('discount'), 'a decimal number', required=false),
    reject_check('created_at', safe_to_utc_timestamp('created_at'), 'an ISO-8601 timestamp'),
] -%}

with

source as (

    {{ raw_rows(source('shop', 'order_items')) }}

),

cleaned as (

    select
        {{ safe_to_bigint('order_id') }} as order_id,
        {{ safe_to_integer('line_number') }} as line_number,
        {{ safe_to_bigint('product_id') }} as product_id,
        {{ safe_to_integer('quantity') }} as quantity,
        {{ safe_to_numeric('unit_price') }} as unit_price,
        -- no discount written means none given
        coalesce({{ safe_to_numeric('discount') }}, 0) as discount_amount,
        {{ safe_to_utc_timestamp('created_at') }} as created_at,
        {{ reject_columns(checks) }},
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from cleaned
