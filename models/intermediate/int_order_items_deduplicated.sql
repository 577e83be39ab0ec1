{#-
    Order lines, once each: raw rows that are not rejects, one row per (order_id,
    line_number), the row loaded last winning (docs: current_version). Incremental: only
    rows loaded since the last run are read; a line they carry replaces the stored one.
    Restatements (docs: restatements): a file delivered again (`elt load --reload`) that no
    longer carries a line it held withdraws that line's version. The line falls back to its
    version in an earlier file, or, with none left in raw, is kept as withdrawn
    (`is_deleted`), so the facts delete it. Both carry the restatement's load time. A night
    whose loads hold no reloaded file (the loader's manifest says so) skips that search.
    On Spark the table is partitioned by the line's creation day (created_date), and a run
    rewrites only the days its lines fall in: the last few, not the whole history.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_item_sk',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        partition_by=['created_date'],
        indexes=postgres_indexes([
            {'columns': ['order_item_sk'], 'unique': true},
            {'columns': ['order_id']},
            {'columns': ['source_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}
{#- a night without a reloaded order-lines file has nothing withdrawn: no need to look -#}
{%- set restating = restated_since('shop.order_items', watermark) %}

with

new_rows as (

    select * from {{ ref('stg_shop__order_items') }}
    {{ loaded_after_watermark('loaded_at', watermark, raw=true) }}
        and reject_reason is null

),

{% if restating %}

    withdrawn as (

        -- stored lines of a file delivered again whose new delivery no longer carries them
        select stored.*
        from {{ this }} as stored
        where
            not stored.is_deleted
            and stored.source_file in (select new_rows.source_file from new_rows)
            and not exists (
                select 1 from new_rows
                where
                    new_rows.order_id = stored.order_id
                    and new_rows.line_number = stored.line_number
            )

    ),

    earlier_versions as (

        -- the versions those lines still have in raw (other files, loaded before)
        select staged.*
        from {{ ref('stg_shop__order_items') }} as staged
        where
            staged.reject_reason is null
            and exists (
                select 1 from withdrawn
                where
                    withdrawn.order_id = staged.order_id
                    and withdrawn.line_number = staged.line_number
            )

    ),

{% endif %}

candidates as (

    select * from new_rows

    {% if restating %}

        union all

        select * from earlier_versions

    {% endif %}

),

ranked as (

    select
        *,
        {{ to_utc('loaded_at') }} as source_loaded_at,
        row_number() over (
            partition by order_id, line_number
            order by {{ latest_version_first(loaded_at='loaded_at') }}
        ) as version_rank
    from candidates

),

current_versions as (

    select
        {{ surrogate_key(['order_id', 'line_number']) }} as order_item_sk,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        discount_amount,
        created_at,
        cast(created_at as date) as created_date,
        source_loaded_at,
        source_file,
        source_row_number,
        false as is_deleted
    from ranked
    where version_rank = 1

),

{% if restating %}

    restated_at as (

        select max(source_loaded_at) as loaded_at from current_versions

    ),

    final as (

        select
            current_versions.order_item_sk,
            current_versions.order_id,
            current_versions.line_number,
            current_versions.product_id,
            current_versions.quantity,
            current_versions.unit_price,
            current_versions.discount_amount,
            current_versions.created_at,
            current_versions.created_date,
            -- a line restated from an earlier file reaches the facts tonight
            case
                when withdrawn.order_item_sk is null then current_versions.source_loaded_at
                else (select restated_at.loaded_at from restated_at)
            end as source_loaded_at,
            current_versions.source_file,
            current_versions.source_row_number,
            current_versions.is_deleted
        from current_versions
        left join withdrawn
            on current_versions.order_item_sk = withdrawn.order_item_sk

        union all

        -- withdrawn lines without a version left in raw: kept as withdrawn, so the facts
        -- delete them
        select
            withdrawn.order_item_sk,
            withdrawn.order_id,
            withdrawn.line_number,
            withdrawn.product_id,
            withdrawn.quantity,
            withdrawn.unit_price,
            withdrawn.discount_amount,
            withdrawn.created_at,
            withdrawn.created_date,
            (select restated_at.loaded_at from restated_at) as source_loaded_at,
            withdrawn.source_file,
            withdrawn.source_row_number,
            true as is_deleted
        from withdrawn
        where not exists (
            select 1 from current_versions
            where current_versions.order_item_sk = withdrawn.order_item_sk
        )

    )

{% else %}

final as (

    select * from current_versions

)

{% endif %}

select * from final
-- stored in arrival order (order ids grow with time): a run's lookups by order_id skip
-- the older row groups
order by order_id, line_number
