{%- set checks = [
    reject_check('rate_date', safe_to_date('rate_date'), 'a date'),
    reject_check('currency', clean_text('currency'), 'a currency code'),
    reject_check(
        'usd_per_unit',
        'case when ' ~ safe_to_numeric('usd_per_unit', 18, 8) ~ ' > 0 then 1 end',
        'a positive decimal number',
    ),
] -%}

with

source as (

    {{ raw_rows(source('finance', 'fx_rates')) }}

),

cleaned as (

    select
        {{ safe_to_date('rate_date') }} as rate_date,
        upper({{ clean_text('currency') }}) as currency_code,
        cast({{ safe_to_numeric('usd_per_unit', 18, 8) }} as numeric(18, 8)) as usd_per_unit,
        {{ safe_to_utc_timestamp('published_at') }} as published_at,
        {{ reject_columns(checks) }},
        _batch_id as batch_id,
        _loaded_at as loaded_at,
        _source_file as source_file,
        _row_number as source_row_number
    from source

)

select * from cleaned
