{#-
    Product history reconstructed from the daily full extracts raw keeps: one row per
    product and extract day on which the product changed (docs: product_history).
    A version starts when the product appears or its `updated_at` moves; it is deleted as
    of the first extract it is missing from. An absence proves nothing when the product's
    line of that extract was quarantined or rejected, or when some broken line of the
    extract cannot be told apart (its key does not parse): the day is then skipped for it.
    Incremental: the extract days loaded since the last run are compared, in order, with
    each product's latest known state; every key comes from the data, never the clock.
-#}
{{
    config(
        materialized='incremental',
        unique_key='product_version_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['product_version_sk'], 'unique': true},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

new_rows as (

    select * from {{ ref('stg_shop__products') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}

),

quarantined_lines as (

    select * from {{ ref('stg_elt__quarantined_lines') }}
    where source_table = 'shop.products'

),

extracts as (

    select
        extract_date,
        max({{ to_utc('loaded_at') }}) as source_loaded_at
    from new_rows
    group by extract_date

),

-- a broken line whose product cannot be read: no absence on that day proves a deletion
unreadable_days as (

    select distinct extract_date
    from new_rows
    where product_id is null

    union

    select distinct quarantined_lines.extract_date
    from quarantined_lines
    inner join extracts
        on quarantined_lines.extract_date = extracts.extract_date
    where quarantined_lines.first_field_number is null

),

-- products whose line was present but broken: there, but with no usable version
unusable_rows as (

    select distinct
        product_id,
        extract_date
    from new_rows
    where product_id is not null and reject_reason is not null

    union

    select distinct
        quarantined_lines.first_field_number as product_id,
        quarantined_lines.extract_date
    from quarantined_lines
    inner join extracts
        on quarantined_lines.extract_date = extracts.extract_date
    where quarantined_lines.first_field_number is not null

),

ranked_rows as (

    select
        *,
        row_number() over (
            partition by product_id, extract_date
            order by {{ latest_version_first('updated_at', 'loaded_at') }}
        ) as row_rank
    from new_rows
    where reject_reason is null

),

observations as (

    select * from ranked_rows
    where row_rank = 1

),

prior_states as (

    {% if is_incremental() %}

        select * from (
            select
                *,
                row_number() over (
                    partition by product_id order by extract_date desc
                ) as state_rank
            from {{ this }}
        ) as states
        where state_rank = 1

    {% else %}

    select
        cast(null as bigint) as product_id,
        cast(null as date) as extract_date,
        cast(null as boolean) as is_deleted,
        cast(null as {{ dbt.type_string() }}) as sku,
        cast(null as {{ dbt.type_string() }}) as product_name,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as numeric(18, 2)) as unit_price,
        cast(null as {{ dbt.type_string() }}) as currency_code,
        cast(null as timestamp) as updated_at,
        cast(null as timestamp) as valid_from,
        cast(null as timestamp) as source_loaded_at
    where 1 = 0

    {% endif %}

),

first_seen as (

    select
        product_id,
        min(extract_date) as first_extract_date
    from (
        select
            product_id,
            extract_date
        from prior_states
        union all
        select
            product_id,
            extract_date
        from observations
    ) as seen
    group by product_id

),

-- every known product on every new extract day from its first appearance on
grid as (

    select
        first_seen.product_id,
        extracts.extract_date,
        extracts.source_loaded_at
    from first_seen
    cross join extracts
    where extracts.extract_date >= first_seen.first_extract_date

),

new_states as (

    select
        grid.product_id,
        grid.extract_date,
        observations.sku,
        observations.product_name,
        observations.category,
        observations.unit_price,
        observations.currency_code,
        observations.updated_at,
        grid.source_loaded_at,
        observations.product_id is null as is_deleted,
        case
            when observations.product_id is null then cast(grid.extract_date as timestamp)
            else observations.updated_at
        end as changed_at
    from grid
    left join observations
        on
            grid.product_id = observations.product_id
            and grid.extract_date = observations.extract_date
    left join unusable_rows
        on
            grid.product_id = unusable_rows.product_id
            and grid.extract_date = unusable_rows.extract_date
    left join unreadable_days
        on grid.extract_date = unreadable_days.extract_date
    -- absent but unproven: skipped
    where
        observations.product_id is not null
        or (unusable_rows.product_id is null and unreadable_days.extract_date is null)

),

timeline as (

    select
        product_id,
        extract_date,
        is_deleted,
        sku,
        product_name,
        category,
        unit_price,
        currency_code,
        updated_at,
        valid_from as changed_at,
        source_loaded_at,
        true as is_prior
    from prior_states

    union all

    select
        product_id,
        extract_date,
        is_deleted,
        sku,
        product_name,
        category,
        unit_price,
        currency_code,
        updated_at,
        changed_at,
        source_loaded_at,
        false as is_prior
    from new_states

),

compared as (

    select
        *,
        lag(is_deleted) over by_day as previous_is_deleted,
        lag(updated_at) over by_day as previous_updated_at
    from timeline
    window by_day as (partition by product_id order by extract_date)

),

changes as (

    select * from compared
    where
        is_prior
        or previous_is_deleted is null
        or is_deleted != previous_is_deleted
        or (not is_deleted and updated_at is distinct from previous_updated_at)

),

-- a deletion keeps the attributes of the version it ends; windows never run backwards
sequenced as (

    select
        product_id,
        extract_date,
        is_deleted,
        is_prior,
        updated_at,
        source_loaded_at,
        coalesce(sku, lag(sku) over by_change) as sku,
        coalesce(product_name, lag(product_name) over by_change) as product_name,
        coalesce(category, lag(category) over by_change) as category,
        coalesce(unit_price, lag(unit_price) over by_change) as unit_price,
        coalesce(currency_code, lag(currency_code) over by_change) as currency_code,
        max(changed_at) over (
            partition by product_id order by extract_date
            rows between unbounded preceding and current row
        ) as valid_from
    from changes
    window by_change as (partition by product_id order by extract_date)

),

final as (

    select
        {{ surrogate_key(['product_id', 'extract_date']) }} as product_version_sk,
        product_id,
        extract_date,
        is_deleted,
        sku,
        product_name,
        category,
        unit_price,
        currency_code,
        updated_at,
        valid_from,
        source_loaded_at
    from sequenced
    where not is_prior

)

select * from final
