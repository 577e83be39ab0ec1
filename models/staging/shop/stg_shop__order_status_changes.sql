{#-
    The order CDC feed as a history: the first time each order reached each status.
    stg_shop__orders keeps only the current version; milestones need every change.
-#}
with

source as (

    select * from {{ source('shop', 'orders') }}

),

cleaned as (

    select
        {{ safe_to_bigint('order_id') }} as order_id,
        lower({{ clean_text('status') }}) as order_status,
        {{ safe_to_utc_timestamp('placed_at') }} as placed_at,
        {{ safe_to_utc_timestamp('updated_at') }} as changed_at,
        _loaded_at,
        _source_file,
        _row_number
    from source

),

ranked as (

    select
        *,
        row_number() over (
            partition by cast(placed_at as date), order_id, order_status
            order by changed_at asc nulls last, _loaded_at asc, _source_file asc, _row_number asc
        ) as change_rank
    from cleaned
    where order_id is not null and order_status is not null

),

final as (

    select
        {{ surrogate_key(['order_id', 'order_status']) }} as order_status_change_sk,
        order_id,
        order_status,
        changed_at,
        cast(placed_at as date) as placed_date,
        _loaded_at as loaded_at
    from ranked
    where change_rank = 1

)

select * from final
