with

statuses as (

    select * from {{ ref('order_statuses') }}

),

final as (

    select
        {{ surrogate_key(['order_status']) }} as order_status_sk,
        cast(order_status as varchar(20)) as order_status,
        cast(status_label as varchar(50)) as status_label,
        cast(lifecycle_step as integer) as lifecycle_step,
        is_terminal,
        is_revenue
    from statuses

    union all

    select
        {{ unknown_key() }} as order_status_sk,
        cast('unknown' as varchar(20)) as order_status,
        cast('Unknown' as varchar(50)) as status_label,
        cast(0 as integer) as lifecycle_step,
        false as is_terminal,
        false as is_revenue

)

select * from final
