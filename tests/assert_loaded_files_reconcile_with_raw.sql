-- Files → raw: every loaded file accounts for each of its records (loaded or
-- quarantined), and the raw tables hold exactly the rows the manifest says.

with

manifest as (

    select * from {{ source('elt', 'manifest') }}
    where status = 'loaded'

),

quarantine as (

    select
        file_path,
        count(*) as quarantined
    from {{ source('elt', 'quarantine') }}
    group by file_path

),

raw_rows as (

    {% set raw_tables = [
        source('shop', 'customers'), source('shop', 'products'), source('shop', 'orders'),
        source('shop', 'order_items'), source('payments', 'payments'), source('finance', 'fx_rates'),
    ] %}
    {% for raw_table in raw_tables %}
    select
        _source_file as file_path,
        count(*) as loaded
    from {{ raw_table }}
    group by _source_file
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

final as (

    select
        manifest.file_path,
        manifest.rows_in_file,
        manifest.rows_loaded,
        manifest.rows_quarantined,
        coalesce(raw_rows.loaded, 0) as rows_in_raw,
        coalesce(quarantine.quarantined, 0) as rows_in_quarantine
    from manifest
    left join raw_rows
        on manifest.file_path = raw_rows.file_path
    left join quarantine
        on manifest.file_path = quarantine.file_path
    where
        manifest.rows_in_file != manifest.rows_loaded + manifest.rows_quarantined
        or manifest.rows_loaded != coalesce(raw_rows.loaded, 0)
        or manifest.rows_quarantined != coalesce(quarantine.quarantined, 0)

)

select * from final
