with

source as (

    select * from {{ source('shop', 'order_items') }}

),

cleaned as (

    select
        {{ safe_to_bigint('order_id') }} as order_id,
        {{ safe_to_integer('line_number') }} as line_number,
        {{ safe_to_bigint('product_id') }} as product_id,
        {{ safe_to_integer('quantity') }} as quantity,
        {{ safe_to_numeric('unit_price') }} as unit_price,
        {{ safe_to_numeric('discount') }} as discount_amount,
        {{ safe_to_utc_timestamp('created_at') }} as ordered_at,
        (
            {{ is_invalid('product_id', safe_to_bigint('product_id')) }}
            or {{ is_invalid('quantity', safe_to_integer('quantity')) }}
            or {{ is_invalid('unit_price', safe_to_numeric('unit_price')) }}
            or {{ is_invalid('discount', safe_to_numeric('discount')) }}
            or {{ is_invalid('created_at', safe_to_utc_timestamp('created_at')) }}
        ) as has_invalid_values,
        _loaded_at,
        _source_file,
        _row_number
    from source

),

ranked as (

    select
        *,
        -- an order's lines share its placement day: partitioning by it lets an
        -- incremental model's date filter reach the raw scan
        row_number() over (
            partition by cast(ordered_at as date), order_id, line_number
            order by {{ latest_version_first() }}
        ) as version_rank
    from cleaned
    where order_id is not null and line_number is not null

),

final as (

    select
        {{ surrogate_key(['order_id', 'line_number']) }} as order_item_sk,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        ordered_at,
        cast(ordered_at as date) as ordered_date,
        has_invalid_values,
        _loaded_at as loaded_at,
        _source_file as source_file
    from ranked
    where version_rank = 1

)

select * from final
