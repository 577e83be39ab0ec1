with

source as (

    select * from {{ source('payments', 'payments') }}

),

cleaned as (

    select
        {{ safe_to_bigint('payment_id') }} as payment_id,
        {{ safe_to_bigint('order_id') }} as order_id,
        lower({{ clean_text('method') }}) as payment_method,
        {{ safe_to_bigint('amount_cents') }} as amount_cents,
        upper({{ clean_text('currency') }}) as currency_code,
        lower({{ clean_text('status') }}) as payment_status,
        {{ clean_text('failure_reason') }} as failure_reason,
        {{ safe_to_utc_timestamp('created_at') }} as created_at,
        {{ safe_to_utc_timestamp('updated_at') }} as updated_at,
        (
            {{ is_invalid('order_id', safe_to_bigint('order_id')) }}
            or {{ is_invalid('amount_cents', safe_to_bigint('amount_cents')) }}
            or {{ is_invalid('created_at', safe_to_utc_timestamp('created_at')) }}
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
            partition by payment_id
            order by {{ latest_version_first('updated_at') }}
        ) as version_rank
    from cleaned
    where payment_id is not null

),

final as (

    select
        payment_id,
        order_id,
        payment_method,
        amount_cents,
        {{ cents_to_amount('amount_cents') }} as amount,
        currency_code,
        payment_status,
        failure_reason,
        created_at,
        updated_at,
        has_invalid_values,
        _loaded_at as loaded_at,
        _source_file as source_file
    from ranked
    where version_rank = 1

)

select * from final
