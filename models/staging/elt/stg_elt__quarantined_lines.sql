{#- The loader's quarantine: one row per structurally broken line it kept out of raw. -#}
{%- set first_field -%}
replace(split_part(raw_line, ',', 1), '"', '')
{%- endset %}
with

source as (

    select * from {{ source('elt', 'quarantine') }}

),

renamed as (

    select
        file_path,
        source_table,
        cast(line_number as bigint) as line_number,
        raw_line,
        reason as quarantine_reason,
        -- the key of a file whose first column is its key (shop.products), when it reads
        {{ safe_to_bigint(first_field) }} as first_field_number,
        batch_id,
        {{ extract_date_from_path('file_path') }} as extract_date,
        {{ to_utc('quarantined_at') }} as quarantined_at
    from source

)

select * from renamed
