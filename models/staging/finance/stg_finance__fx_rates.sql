with

source as (

    select * from {{ source('finance', 'fx_rates') }}

),

cleaned as (

    select
        {{ safe_to_date('rate_date') }} as rate_date,
        upper({{ clean_text('currency') }}) as currency_code,
        cast({{ safe_to_numeric('usd_per_unit', 18, 8) }} as numeric(18, 8)) as usd_per_unit,
        {{ safe_to_utc_timestamp('published_at') }} as published_at,
        _loaded_at,
        _source_file,
        _row_number
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by rate_date, currency_code
            order by {{ latest_version_first('published_at') }}
        ) as version_rank
    from cleaned
    where rate_date is not null and currency_code is not null and usd_per_unit > 0

),

final as (

    select
        {{ surrogate_key(['rate_date', 'currency_code']) }} as fx_rate_sk,
        rate_date,
        currency_code,
        usd_per_unit,
        published_at,
        _loaded_at as loaded_at
    from ranked
    where version_rank = 1

)

select * from final
