with

source as (

    select * from {{ source('shop', 'customers') }}

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
        (
            {{ is_invalid('created_at', safe_to_utc_timestamp('created_at')) }}
            or {{ is_invalid('updated_at', safe_to_utc_timestamp('updated_at')) }}
        ) as has_invalid_values,
        _loaded_at,
        _source_file,
        _row_number
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id
            order by {{ latest_version_first('updated_at') }}
        ) as version_rank
    from cleaned
    where customer_id is not null

),

final as (

    select
        customer_id,
        email,
        first_name,
        last_name,
        phone,
        country_code,
        city,
        segment,
        created_at,
        updated_at,
        has_invalid_values,
        _loaded_at as loaded_at,
        _source_file as source_file
    from ranked
    where version_rank = 1

)

select * from final
