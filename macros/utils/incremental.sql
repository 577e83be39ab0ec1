{#-
    Incremental models read only what is new since their last run, by load, never by
    business time (docs: incremental_design). `source_loaded_at` on every incremental
    model's row is the newest raw `_loaded_at` behind it; the model's watermark is its
    greatest value. The watermark is read when the model runs and written into the SQL
    as a constant, so both databases push the filter down to the scan (DuckDB's zone
    maps on load order, PostgreSQL's index on `_loaded_at`).
-#}

{#- The model's watermark as a SQL timestamp literal (UTC), or none on a full build. -#}
{% macro loaded_watermark(relation=none, column='source_loaded_at') -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set relation = relation or this -%}
    {%- set result = run_query('select max(' ~ column ~ ') from ' ~ relation) -%}
    {%- set value = result.columns[0].values()[0] -%}
    {%- if value is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value.strftime('%Y-%m-%d %H:%M:%S.%f') if value is not string else value -%}
    {{ return(text) }}
{%- endmacro %}


{#-
    Whether the files of `source_table` (source.table) loaded since the watermark include a
    restatement (a file loaded before whose rows `elt load --reload` replaced), read from the
    loader's manifest when the model compiles: a night without one skips the work of finding
    withdrawn rows. Files finished up to a day before the watermark count too (the manifest's
    times come from the loader's clock, raw's from the database's). False on a full build
    (nothing is stored to withdraw), true when it cannot tell (no watermark). Call it
    unconditionally: dbt learns the model reads the manifest's staging model when it parses.
-#}
{% macro restated_since(source_table, watermark) -%}
    {%- set loads = ref('stg_elt__file_loads') -%}
    {%- if not (execute and is_incremental()) -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if watermark is none -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set query -%}
        select count(*) from {{ loads }}
        where
            source_table = '{{ source_table }}'
            and is_restatement
            and load_finished_at > {{ dbt.dateadd('day', -1, "cast('" ~ watermark ~ "' as timestamp)") }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0] > 0) }}
{%- endmacro %}


{#-
    `where` (or `and`) clause keeping rows loaded after the watermark. `column` is a raw
    `_loaded_at` (timestamp with time zone, `raw=true`) or a model's `source_loaded_at`
    (UTC timestamp). Renders `keyword 1 = 1` on a full build or an empty target.
-#}
{% macro loaded_after_watermark(column, watermark, keyword='where', raw=false) -%}
    {{ keyword }}
    {%- if watermark is none %} 1 = 1
    {%- elif raw %} {{ column }} > cast('{{ watermark }}+00' as {{ timestamptz_type() }})
    {%- else %} {{ column }} > cast('{{ watermark }}' as timestamp)
    {%- endif -%}
{%- endmacro %}


{% macro timestamptz_type() -%}
    {{ return(adapter.dispatch('timestamptz_type')()) }}
{%- endmacro %}

{% macro default__timestamptz_type() -%}
    timestamptz
{%- endmacro %}

{% macro spark__timestamptz_type() -%}
    timestamp
{%- endmacro %}

{% macro postgres__timestamptz_type() -%}
    timestamp with time zone
{%- endmacro %}


{#- The greatest non-null value of the expressions (null when all are null): `greatest`
    skips nulls on DuckDB, PostgreSQL and Spark alike. -#}
{% macro greatest_of(expressions) -%}
    greatest({{ expressions | join(', ') }})
{%- endmacro %}


{#-
    A pre-hook of a fact built from a de-duplicated feed (docs: restatements): delete the
    rows whose line a restatement withdrew since the fact's last run (`is_deleted` in
    `withdrawn_from`, loaded after the fact's watermark); the run then rebuilds the rest of
    their orders. DuckDB and PostgreSQL; on Spark's plain Parquet tables there is no DELETE,
    and a withdrawn line stays until a full refresh.
-#}
{% macro delete_withdrawn(key, withdrawn_from) -%}
    {%- if target.type in ('duckdb', 'postgres') and is_incremental() -%}
        delete from {{ this }}
        where {{ key }} in (
            select withdrawn.{{ key }}
            from {{ withdrawn_from }} as withdrawn
            where
                withdrawn.is_deleted
                and withdrawn.source_loaded_at > (select max(built.source_loaded_at) from {{ this }} as built)
        )
    {%- endif -%}
{%- endmacro %}


{#-
    Two CTEs of a monthly report (with their trailing commas): `months_to_rebuild`, the
    months (`order_month`, of `day_column`) of the rows of `rows` loaded after the watermark,
    and `name`, every row of those months: the report's incremental run replaces them whole.
    On a full build, `name` is every row.
-#}
{% macro rows_of_rebuilt_months(rows, day_column, watermark, name) -%}
    {%- if is_incremental() %}
    months_to_rebuild as (

        select distinct cast(date_trunc('month', {{ day_column }}) as date) as order_month
        from {{ rows }}
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

    ),

    {{ name }} as (

        select * from {{ rows }}
        where
            {{ day_column }} >= (select min(months_to_rebuild.order_month) from months_to_rebuild)
            and cast(date_trunc('month', {{ day_column }}) as date)
            in (select months_to_rebuild.order_month from months_to_rebuild)

    ),
    {%- else %}
    {{ name }} as (

        select * from {{ rows }}

    ),
    {%- endif %}
{%- endmacro %}
