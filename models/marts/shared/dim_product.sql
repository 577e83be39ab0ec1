{#-
    Product versions (SCD2) with deletions, derived from the daily full extracts raw keeps
    (int_product_versions): a one-shot build, a day-by-day build and a rebuild from the
    files give the same rows. Incremental: every version of the products that changed since
    the last run is rewritten.
-#}
{{ scd2_dimension_config('product_id', 'product_sk') }}

with

product_versions as (

    {{ versions_of_changed(ref('int_product_versions'), 'product_id') }}

),

versions as (

    select
        cast(product_version_sk as varchar(32)) as product_sk,
        cast(product_id as bigint) as product_id,
        cast(sku as varchar(30)) as sku,
        cast(product_name as varchar(200)) as product_name,
        cast(category as varchar(50)) as category,
        cast(unit_price as numeric(18, 2)) as list_price,
        cast(currency_code as varchar(3)) as list_price_currency_code,
        is_deleted,
        cast(valid_from as timestamp) as valid_from,
        cast(
            lead(valid_from) over (partition by product_id order by extract_date) as timestamp
        ) as valid_to,
        row_number() over (partition by product_id order by extract_date desc) = 1 as is_current,
        cast(source_loaded_at as timestamp) as source_loaded_at
    from product_versions

),

{% if not is_incremental() %}

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
        {{ unknown_member_validity() }}

),

{% endif %}

final as (

    {{ versions_and_unknown_member('versions', 'unknown_member') }}

)

select * from final
