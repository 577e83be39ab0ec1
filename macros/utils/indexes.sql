{#-
    Indexes for a model's `indexes` config on PostgreSQL only: there they serve the
    incremental delete+insert and the marts' lookups; dbt-duckdb would build ART indexes
    that serve nothing and cost build time (docs/postgres.md: physical design).
-#}
{% macro postgres_indexes(indexes) -%}
    {{ return(indexes if target.type == 'postgres' else []) }}
{%- endmacro %}
