{#-
    Apache Spark on plain Parquet tables (docs/spark.md): what differs from DuckDB and
    PostgreSQL beyond a function's spelling (those are dispatched next to the macro they
    belong to).
-#}

{#- Spark's name of a type the contracts spell the DuckDB/PostgreSQL way. Spark needs a
    length on varchar and knows no `text`, `double precision` or `timestamptz`. -#}
{% macro spark_type(data_type) -%}
    {%- set t = data_type | trim | lower -%}
    {%- if t in ('varchar', 'text', 'character varying') -%}
        {{ return('string') }}
    {%- elif t == 'double precision' -%}
        {{ return('double') }}
    {%- elif t in ('timestamptz', 'timestamp with time zone') -%}
        {{ return('timestamp') }}
    {%- endif -%}
    {{ return(data_type) }}
{%- endmacro %}

{#- dbt's cast (contracts build their expected schema with it), in Spark's type names -#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type(type) }})
{%- endmacro %}


{#-
    Incremental `delete+insert` on Spark without Delta/Iceberg (no DELETE, no MERGE on plain
    Parquet): the same result, a row per unique key with the new rows replacing the old,
    written with `insert overwrite`.
      - A model with `partition_by` (the large facts, by date) rewrites only the partitions
        the new rows touch: those they fall in, and those holding the old versions of their
        keys. This is insert_overwrite by partition, with the partitions worked out for the
        model rather than written into its SQL.
      - A model without one rewrites its table (the old rows whose key has no new row, and
        the new rows).
    Spark refuses to overwrite a table it reads in the same statement, so the result is
    staged in `<table>__dbt_new` first (dropped by `drop_incremental_staging`, a post-hook).
    dbt-spark's materialization calls these two macros by name; the project's versions add
    the strategy and otherwise keep dbt-spark's behaviour (its validation, copied here).
-#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- set known = ['append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'] -%}
    {%- if raw_strategy not in known -%}
        {% do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: " ~ raw_strategy ~ ". Expected one of: " ~ known | join(', ')) %}
    {%- endif -%}
    {%- if raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi'] -%}
        {% do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: merge. You can only choose this strategy when file_format is set to 'delta' or 'iceberg' or 'hudi'") %}
    {%- endif -%}
    {%- if raw_strategy in ['insert_overwrite', 'microbatch', 'delete+insert'] and target.endpoint -%}
        {% do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: " ~ raw_strategy ~ ". You cannot use this strategy when connecting via endpoint") %}
    {%- endif -%}
    {% do return(raw_strategy) %}
{% endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'delete+insert' -%}
        {{ spark_delete_insert_sql(source, target, unique_key) }}
    {%- else -%}
        {{ dbt_spark_get_incremental_sql_builtin(strategy, source, target, existing, unique_key, incremental_predicates) }}
    {%- endif -%}
{% endmacro %}


{#- dbt-spark's own strategies (its dbt_spark_get_incremental_sql, which the macro above
    replaces) -#}
{% macro dbt_spark_get_incremental_sql_builtin(strategy, source, target, existing, unique_key, incremental_predicates) %}
    {%- if strategy == 'append' -%}
        {{ get_insert_into_sql(source, target) }}
    {%- elif strategy in ('insert_overwrite', 'microbatch') -%}
        {{ get_insert_overwrite_sql(source, target, existing) }}
    {%- elif strategy == 'merge' -%}
        {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
    {%- endif -%}
{% endmacro %}


{#- A statement without a result (run_query fetches one, which the Thrift driver cannot for DDL) -#}
{% macro spark_execute(sql) -%}
    {%- do adapter.execute(sql, auto_begin=false, fetch=false) -%}
{%- endmacro %}


{% macro spark_staging_relation(relation, suffix='__dbt_new') -%}
    {{ return(relation.incorporate(path={'identifier': relation.identifier ~ suffix})) }}
{%- endmacro %}


{% macro spark_delete_insert_sql(source, target, unique_key) %}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set partition_by = config.get('partition_by') -%}
    {%- set partitions = ([partition_by] if partition_by is string else partition_by) or [] -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- set new_rows = spark_staging_relation(target, '__dbt_src') -%}
    {%- set staged = spark_staging_relation(target) -%}
    {%- set key_match = [] -%}
    {%- for k in keys -%}{%- do key_match.append('old.' ~ k ~ ' = new.' ~ k) -%}{%- endfor -%}
    {#- the new rows once (the model's query runs once), then what the target keeps of its old -#}
    {%- do spark_execute('drop table if exists ' ~ new_rows) -%}
    {%- do spark_execute('drop table if exists ' ~ staged) -%}
    {%- do spark_execute('create table ' ~ new_rows ~ ' using parquet as select * from ' ~ source) -%}
    {%- set kept -%}
        select {{ columns }} from {{ target }} as old
        {%- if partitions %}
        where ({{ partitions | join(', ') }}) in (
            select {{ partitions | join(', ') }} from {{ new_rows }}
            union
            select {% for p in partitions %}old_version.{{ p }}{{ ', ' if not loop.last }}{% endfor %}
            from {{ target }} as old_version
            left semi join {{ new_rows }} as new
                on {% for k in keys %}old_version.{{ k }} = new.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
        )
        {%- endif %}
    {%- endset -%}
    {%- call statement('stage_delete_insert') -%}
        create table {{ staged }} using parquet as
        select {{ columns }} from ({{ kept }}) as old
        left anti join {{ new_rows }} as new on {{ key_match | join(' and ') }}
        union all
        select {{ columns }} from {{ new_rows }}
        {%- if partitions %}
        distribute by {{ partitions | join(', ') }}
        {%- endif %}
    {%- endcall -%}
    {#- only the partitions written are replaced (Spark's default, static, would empty the rest) -#}
    {%- if partitions -%}
        {%- do spark_execute('set spark.sql.sources.partitionOverwriteMode = dynamic') -%}
    {%- endif %}
    insert overwrite table {{ target }}
    {%- if partitions %} partition ({{ partitions | join(', ') }}){% endif %}
    select {{ columns }} from {{ staged }}
{% endmacro %}


{#- A post-hook: drops what `delete+insert` staged on Spark (renders nothing; nothing elsewhere). -#}
{% macro drop_incremental_staging() -%}
    {%- if execute and target.type == 'spark' and config.get('materialized') == 'incremental' -%}
        {%- do spark_execute('drop table if exists ' ~ spark_staging_relation(this)) -%}
        {%- do spark_execute('drop table if exists ' ~ spark_staging_relation(this, '__dbt_src')) -%}
    {%- endif -%}
{%- endmacro %}
