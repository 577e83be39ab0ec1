with

snapshot_versions as (

    select * from {{ ref('snp_shop__customers') }}

),

versions as (

    select
        {{ surrogate_key(['customer_id', 'dbt_valid_from']) }} as customer_sk,
        cast(customer_id as bigint) as customer_id,
        -- marts never expose emails or names: a hash of the cleaned email joins across sources
        cast(case when email is not null then {{ dbt.hash('email') }} end as varchar(32))
            as email_hash,
        cast(country_code as varchar(2)) as country_code,
        cast(city as varchar(100)) as city,
        cast(segment as varchar(30)) as segment,
        cast(created_at as timestamp) as signed_up_at,
        cast(dbt_valid_from as timestamp) as valid_from,
        cast(dbt_valid_to as timestamp) as valid_to,
        dbt_valid_to is null as is_current
    from snapshot_versions

),

unknown_member as (

    select
        {{ unknown_key() }} as customer_sk,
        cast(-1 as bigint) as customer_id,
        cast(null as varchar(32)) as email_hash,
        cast(null as varchar(2)) as country_code,
        cast('Unknown' as varchar(100)) as city,
        cast('unknown' as varchar(30)) as segment,
        cast(null as timestamp) as signed_up_at,
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
