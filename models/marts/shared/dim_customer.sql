{#-
    Customer versions (SCD2), derived from the CDC history raw keeps (int_customer_versions):
    a one-shot build, a day-by-day build and a rebuild from the files give the same rows.
    Incremental: every version of the customers that changed since the last run is rewritten.
-#}
{{ scd2_dimension_config('customer_id', 'customer_sk') }}

with

customer_versions as (

    {{ versions_of_changed(ref('int_customer_versions'), 'customer_id') }}

),

email_hash_key as (

    select
        inner_pad,
        outer_pad
    from {{ ref('stg_elt__email_hash_key') }}

),

versions as (

    select
        cast(customer_versions.customer_version_sk as varchar(32)) as customer_sk,
        cast(customer_versions.customer_id as bigint) as customer_id,
        -- marts never expose emails or names: a keyed hash (HMAC-SHA-256) of the cleaned
        -- email joins across sources and cannot be looked up by hashing known emails
        cast(
            case
                when customer_versions.email is not null
                    then {{ keyed_hash('customer_versions.email', 'email_hash_key') }}
            end as varchar(64)
        ) as email_hash,
        cast(customer_versions.country_code as varchar(2)) as country_code,
        cast(customer_versions.city as varchar(100)) as city,
        cast(customer_versions.segment as varchar(30)) as segment,
        cast(customer_versions.created_at as timestamp) as signed_up_at,
        cast(customer_versions.valid_from as timestamp) as valid_from,
        cast(customer_versions.valid_to as timestamp) as valid_to,
        customer_versions.valid_to is null as is_current,
        cast(customer_versions.source_loaded_at as timestamp) as source_loaded_at
    from customer_versions
    -- one row: the key (the loader stores it before every load; a test checks it is there)
    cross join email_hash_key

),

{% if not is_incremental() %}

unknown_member as (

    select
        {{ unknown_key() }} as customer_sk,
        cast(-1 as bigint) as customer_id,
        cast(null as varchar(64)) as email_hash,
        cast(null as varchar(2)) as country_code,
        cast('Unknown' as varchar(100)) as city,
        cast('unknown' as varchar(30)) as segment,
        cast(null as timestamp) as signed_up_at,
        {{ unknown_member_validity() }}

),

{% endif %}

final as (

    {{ versions_and_unknown_member('versions', 'unknown_member') }}

)

select * from final
