with

channels as (

    select * from {{ ref('channels') }}

),

final as (

    select
        {{ surrogate_key(['channel']) }} as channel_sk,
        cast(channel as varchar(30)) as channel,
        cast(channel_label as varchar(50)) as channel_label,
        is_owned
    from channels

    union all

    select
        {{ unknown_key() }} as channel_sk,
        cast('unknown' as varchar(30)) as channel,
        cast('Unknown' as varchar(50)) as channel_label,
        cast(null as boolean) as is_owned

)

select * from final
