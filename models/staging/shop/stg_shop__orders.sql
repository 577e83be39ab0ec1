with

source as (

    select * from {{ source('shop', 'orders') }}

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
        (
            {{ is_invalid('customer_id', safe_to_bigint('customer_id')) }}
            or {{ is_invalid('placed_at', safe_to_utc_timestamp('placed_at')) }}
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
        cast(placed_at as date) as placed_date,
        -- placed_date is constant per order: partitioning by it lets a date filter
        -- from an incremental model reach the raw scan
        row_number() over (
            partition by cast(placed_at as date), order_id
            order by {{ latest_version_first('updated_at') }}
        ) as version_rank
    from cleaned
    where order_id is not null

),

final as (

    select
        order_id,
        customer_id,
        order_status,
        currency_code,
        channel,
        coupon_code,
        placed_at,
        placed_date,
        updated_at,
        has_invalid_values,
        _loaded_at as loaded_at,
        _source_file as source_file
    from ranked
    where version_rank = 1

)

select * from final
