{%- set checks = [
    reject_check('order_id', safe_to_bigint('order_id'), 'a whole number'),
    reject_check('customer_id', safe_to_bigint('customer_id'), 'a whole number'),
    reject_check('status', clean_text('status'), 'a status'),
    reject_check('placed_at', safe_to_utc_timestamp('placed_at'), 'an ISO-8601 timestamp'),
    reject_check('updated_at', safe_to_utc_timestamp('updated_at'), 'an ISO-8601 timestamp'),
] -%}

with

source as (

    {{ raw_rows(source('shop', 'orders')) }}

),

cleaned as (

    select
        {{ safe_to_bigint('order_id') }} as order_id,
        {{ safe_to_bigint('customer_id') }} as customer_id,
        lower({{ clean_text('status') }}) as order_status,
        upper({{ clean_text('currency') }}) as currency_code,
        lower({{ clean_text('channel') }}) as channel,
        upper({{ clean_text(column_or_null(source('shop', 'orders'), 'coupon_code')) }})
            as coupon_code,
        {{ safe_to_utc_timestamp('placed_at') }} as placed_at,
        {{ safe_to_utc_timestamp('updated_at') }} as updated_at,
        {{ reject_columns(checks) }},
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from cleaned
