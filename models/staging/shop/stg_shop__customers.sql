{%- set checks = [
    reject_check('customer_id', safe_to_bigint('customer_id'), 'a whole number'),
    reject_check('updated_at', safe_to_utc_timestamp('updated_at'), 'an ISO-8601 timestamp'),
    reject_check(
        'created_at', safe_to_utc_timestamp('created_at'), 'an ISO-8601 timestamp', required=false
    ),
] -%}

with

source as (

    {{ raw_rows(source('shop', 'customers')) }}

),

cleaned as (

    select
        {{ safe_to_bigint('customer_id') }} as customer_id,
        lower({{ clean_text('email') }}) as email,
        {{ clean_text('first_name') }} as first_name,
        {{ clean_text('last_name') }} as last_name,
        {{ clean_text('phone') }} as phone,
        upper({{ clean_text('country_code') }}) as country_code,
        {{ clean_text('city') }} as city,
        lower({{ clean_text('segment') }}) as segment,
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
