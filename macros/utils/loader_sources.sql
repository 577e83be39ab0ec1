{#- The source tables `elt load` fills: those with `meta.elt` (see elt/loader/config.py). Read
    from the graph at run time, so a new source needs only its YAML; empty while parsing. -#}
{% macro loader_sources() %}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
            {%- if 'elt' in (node.config.meta or node.meta or {}) -%}
                {%- do found.append(node) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{% endmacro %}

{#- The raw tables of the loader's sources that exist (a source whose first file has not
    come yet has none): relations made from the graph, for tests that read every raw table. -#}
{% macro loaded_raw_relations() %}
    {%- set found = [] -%}
    {%- for node in loader_sources() -%}
        {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) -%}
        {%- if relation is not none -%}
            {%- do found.append(relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{% endmacro %}

{#- Hours of a dbt freshness threshold ({count, period}), or null when the source sets none. -#}
{% macro freshness_hours(threshold) %}
    {%- set hours_per = {'minute': 1.0 / 60, 'hour': 1, 'day': 24} -%}
    {%- if threshold and threshold.count and threshold.period -%}
        {{ return(threshold.count * hours_per[threshold.period]) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}

{#- One row per loaded source table: its label (source.table, as in the manifest) and its
    dbt freshness thresholds in hours (null: the source is static, never stale). -#}
{% macro loader_source_freshness() %}
    {%- set rows = [] -%}
    {%- for node in loader_sources() -%}
        {%- set freshness = node.config.freshness or node.freshness or {} -%}
        {%- set warn = freshness_hours(freshness.warn_after) -%}
        {%- set error = freshness_hours(freshness.error_after) -%}
        {%- do rows.append(
            "select cast('" ~ node.source_name ~ "." ~ node.name ~ "' as " ~ dbt.type_string() ~ ") as source_table, "
            ~ "cast(" ~ (warn if warn is not none else 'null') ~ " as numeric(12, 2)) as freshness_warn_hours, "
            ~ "cast(" ~ (error if error is not none else 'null') ~ " as numeric(12, 2)) as freshness_error_hours"
        ) -%}
    {%- endfor -%}
    {%- if not rows -%}
        {%- do rows.append(
            "select cast(null as " ~ dbt.type_string() ~ ") as source_table, "
            ~ "cast(null as numeric(12, 2)) as freshness_warn_hours, "
            ~ "cast(null as numeric(12, 2)) as freshness_error_hours where 1 = 0"
        ) -%}
    {%- endif -%}
    {{ return(rows | join('\nunion all\n')) }}
{% endmacro %}
