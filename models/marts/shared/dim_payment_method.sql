with

methods as (

    select * from {{ ref('payment_methods') }}

),

final as (

    select
        {{ surrogate_key(['payment_method']) }} as payment_method_sk,
        cast(payment_method as varchar(30)) as payment_method,
        cast(payment_method_label as varchar(50)) as payment_method_label,
        is_card
    from methods

    union all

    select
        {{ unknown_key() }} as payment_method_sk,
        cast('unknown' as varchar(30)) as payment_method,
        cast('Unknown' as varchar(50)) as payment_method_label,
        cast(null as boolean) as is_card

)

select * from final
