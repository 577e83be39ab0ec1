{%- set checks = [
    reject_check('payment_id', safe_to_bigint('payment_id'), 'a whole number'),
    reject_check('order_id', safe_to_bigint('order_id'), 'a whole number'),
    reject_check('amount_cents', safe_to_bigint('amount_cents'), 'a whole number of cents'),
    reject_check('status', clean_text('status'), 'a status'),
    reject_check('created_at', safe_to_utc_timestamp('created_at'), 'an ISO-8601 timestamp'),
    reject_check('updated_at', safe_to_utc_timestamp('updated_at'), 'an ISO-8601 timestamp'),
] -%}

with

source as (

    {{ raw_rows(source('payments', 'payments')) }}

),

cleaned as (

    select
        {{ safe_to_bigint('payment_id') }} as payment_id,
        {{ safe_to_bigint('order_id') }} as order_id,
        lower({{ clean_text('method') }}) as payment_method,
        {{ safe_to_bigint('amount_cents') }} as amount_cents,
        {{ cents_to_amount(safe_to_bigint('amount_cents')) }} as amount,
        upper({{ clean_text('currency') }}) as currency_code,
        lower({{ clean_text('status') }}) as payment_status,
        {{ clean_text('failure_reason') }} as failure_reason,
        {{ safe_to_utc_timestamp('created_at') }} as created_at,
        {{ safe_to_utc_timestamp('updated_at') }} as updated_at,
        {{ reject_columns(checks) }},
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from cleaned
