{#-
    A raw table's rows with their load metadata, as the staging models read them. On DuckDB
    and Spark the file's path and batch are columns of the raw table (`_source_file`,
    `_batch_id`); on PostgreSQL a row names its file by the manifest's number (`_file_id`)
    and they come from the manifest (the loader's `RawLayout`, elt/loader/warehouse.py).
    A filter on `_loaded_at` still reaches the raw table's scan (and its BRIN index).
-#}
{% macro raw_rows(relation) -%}
    {{ return(adapter.dispatch('raw_rows')(relation)) }}
{%- endmacro %}

{% macro default__raw_rows(relation) -%}
    select * from {{ relation }}
{%- endmacro %}

{% macro postgres__raw_rows(relation) -%}
    select
        raw_rows.*,
        files.batch_id as _batch_id,
        files.file_path as _source_file
    from {{ relation }} as raw_rows
    inner join {{ source('elt', 'manifest') }} as files
        on raw_rows._file_id = files.file_id
{%- endmacro %}
