with

snapshot_versions as (

    select * from {{ ref('snp_shop__products') }}

),

versions as (

    select
        {{ surrogate_key(['product_id', 'dbt_valid_from']) }} as product_sk,
        cast(product_id as bigint) as product_id,
        cast(sku as varchar(30)) as sku,
        cast(product_name as varchar(200)) as product_name,
        cast(category as varchar(50)) as category,
        cast(unit_price as numeric(18, 2)) as list_price,
        cast(currency_code as varchar(3)) as list_price_currency_code,
        coalesce(lower(cast(dbt_is_deleted as varchar)) = 'true', false) as is_deleted,
        cast(dbt_valid_from as timestamp) as valid_from,
        cast(dbt_valid_to as timestamp) as valid_to,
        dbt_valid_to is null as is_current
    from snapshot_versions

),

unknown_member as (

    select
        {{ unknown_key() }} as product_sk,
        cast(-1 as bigint) as product_id,
        cast(null as varchar(30)) as sku,
        cast('Unknown product' as varchar(200)) as product_name,
        cast('Unknown' as varchar(50)) as category,
        cast(null as numeric(18, 2)) as list_price,
        cast(null as varchar(3)) as list_price_currency_code,
        false as is_deleted,
        cast('1900-01-01' as timestamp) as valid_from,
        cast(null as timestamp) as valid_to,
        true as is_current

),

final as (

    select * from versions
    union all
    select * from unknown_member

)

select * from final
