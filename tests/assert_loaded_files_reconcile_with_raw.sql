-- Files → raw: every loaded file accounts for each of its records (loaded or
-- quarantined), and the raw tables hold exactly the rows the manifest says. In an
-- incremental build, the files of the last var('test_recent_loads') loads (all of a file's
-- rows are loaded after it started); every file when testing every row.
{%- set manifest_relation = source('elt', 'manifest') %}
{#- raw a day earlier: the loader's and the database's clocks may differ a little #}
{%- set since = none if testing_all_rows() else recent_loads_start() %}
{%- set raw_since = none if testing_all_rows() else dbt.dateadd('day', -1, since) %}

with

manifest as (

    select * from {{ manifest_relation }}
    where status = 'loaded'{% if since %} and started_at >= {{ since }}{% endif %}

),

quarantine as (

    select
        source_table,
        file_path,
        count(*) as quarantined
    from {{ source('elt', 'quarantine') }}
    group by source_table, file_path

),

raw_rows as (

    {#- every table the loader fills, from the sources' YAML (meta.elt); one file may feed
        several source tables, so rows count per source table and file -#}
    {% for node in loader_sources() %}
    {%- set raw_table = adapter.get_relation(
        database=node.database, schema=node.schema, identifier=node.identifier
    ) %}
    {%- if raw_table is not none %}
    select
        '{{ node.source_name }}.{{ node.name }}' as source_table,
        _source_file as file_path,
        count(*) as loaded
    from ({{ raw_rows(raw_table) }}) as raw_table_rows
    {% if raw_since %}where _loaded_at >= {{ raw_since }}{% endif %}
    group by _source_file
    union all
    {%- endif %}
    {% endfor %}
    select
        cast(null as {{ dbt.type_string() }}) as source_table,
        cast(null as {{ dbt.type_string() }}) as file_path,
        0 as loaded
    where 1 = 0

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
        on
            manifest.source_table = raw_rows.source_table
            and manifest.file_path = raw_rows.file_path
    left join quarantine
        on
            manifest.source_table = quarantine.source_table
            and manifest.file_path = quarantine.file_path
    where
        manifest.rows_in_file != manifest.rows_loaded + manifest.rows_quarantined
        or manifest.rows_loaded != coalesce(raw_rows.loaded, 0)
        or manifest.rows_quarantined != coalesce(quarantine.quarantined, 0)

)

select * from final
