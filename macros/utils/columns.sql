{#-
    A raw column that may not exist yet (schema drift adds columns over time): the column
    when the relation has it, else a typed null. Checked when the model is compiled.
-#}
{% macro column_or_null(relation, column_name, data_type=none) -%}
    {%- set data_type = data_type or dbt.type_string() -%}
    {%- if execute -%}
        {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- if column_name | lower in names -%}
            {{ adapter.quote(column_name) }}
        {%- else -%}
            cast(null as {{ data_type }})
        {%- endif -%}
    {%- else -%}
        cast(null as {{ data_type }})
    {%- endif -%}
{%- endmacro %}


{#- The extract day of a raw row: the YYYY-MM-DD folder in its source file's path. -#}
{% macro extract_date_from_path(path_expression) -%}
    {{ return(adapter.dispatch('extract_date_from_path')(path_expression)) }}
{%- endmacro %}

{% macro default__extract_date_from_path(path_expression) -%}
    try_cast(regexp_extract({{ path_expression }}, '([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date)
{%- endmacro %}

{% macro postgres__extract_date_from_path(path_expression) -%}
    cast(substring({{ path_expression }} from '([0-9]{4}-[0-9]{2}-[0-9]{2})') as date)
{%- endmacro %}


{#- Every non-null value of a text expression in a group, sorted, joined
    by ', ' (null when there is none). -#}
{% macro sorted_text_list(expression) -%}
    {{ return(adapter.dispatch('sorted_text_list')(expression)) }}
{%- endmacro %}

{% macro default__sorted_text_list(expression) -%}
    string_agg({{ expression }}, ', ' order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_text_list(expression) -%}
    nullif(array_join(array_sort(collect_list({{ expression }})), ', '), '')
{%- endmacro %}


{#- Text without a length: varchar on DuckDB and PostgreSQL (as the contracts declare it), string
    on Spark. (dbt.type_string() is `text` on PostgreSQL, which an incremental model's schema
    check tells from the `varchar` its contract created.) -#}
{% macro text_type() -%}
    {{ return(adapter.dispatch('text_type')()) }}
{%- endmacro %}

{% macro default__text_type() -%}
    varchar
{%- endmacro %}

{% macro spark__text_type() -%}
    string
{%- endmacro %}


{#- The continuous percentile `fraction` (0..1) of `value` over a group, as percentile_cont
    interpolates it, in exact decimals so every engine gives the same figure (Spark's
    `percentile` and DuckDB's percentile_cont interpolate in floating point, and round apart).
    The model numbers the group's rows that count (`condition`) by value (`position`, from 1)
    and gives their count (`rows`) with window functions. -#}
{% macro percentile_cont_exact(fraction, value, position, rows, condition='true') -%}
    {%- set at = '(1 + ' ~ fraction ~ ' * (' ~ rows ~ ' - 1))' -%}
    {%- set below = 'floor(' ~ at ~ ')' -%}
    {%- set low -%}
        max(case when {{ condition }} and {{ position }} = {{ below }} then {{ value }} end)
    {%- endset -%}
    {%- set high -%}
        max(case when {{ condition }} and {{ position }} = {{ below }} + 1 then {{ value }} end)
    {%- endset -%}
    ({{ low }} + (coalesce({{ high }}, {{ low }}) - {{ low }}) * max({{ at }} - {{ below }}))
{%- endmacro %}
