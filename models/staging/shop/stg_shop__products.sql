with

source as (

    select * from {{ source('shop', 'products') }}

),

cleaned as (

    select
        {{ safe_to_bigint('product_id') }} as product_id,
        {{ clean_text('sku') }} as sku,
        {{ clean_text('product_name') }} as product_name,
        {{ clean_text('category') }} as category,
        {{ safe_to_numeric('unit_price') }} as unit_price,
        upper({{ clean_text('currency') }}) as currency_code,
        {{ safe_to_utc_timestamp('updated_at') }} as updated_at,
        (
            {{ is_invalid('unit_price', safe_to_numeric('unit_price')) }}
            or {{ is_invalid('updated_at', safe_to_utc_timestamp('updated_at')) }}
        ) as has_invalid_values,
        {{ extract_date_from_path('_source_file') }} as extract_date,
        _loaded_at,
        _source_file,
        _row_number
    from source

),

latest_extract as (

    select max(extract_date) as extract_date
    from cleaned

),

ranked as (

    select
        cleaned.*,
        row_number() over (
            partition by cleaned.product_id
            order by {{ latest_version_first('updated_at', 'cleaned') }}
        ) as version_rank
    from cleaned
    inner join latest_extract
        on cleaned.extract_date = latest_extract.extract_date
    where cleaned.product_id is not null

),

final as (

    select
        product_id,
        sku,
        product_name,
        category,
        unit_price,
        currency_code,
        updated_at,
        has_invalid_values,
        extract_date,
        _loaded_at as loaded_at,
        _source_file as source_file
    from ranked
    where version_rank = 1

)

select * from final
