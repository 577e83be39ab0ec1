{#-
    Per-model session settings. PostgreSQL's default work_mem (4 MB) makes hash
    aggregates over raw tables spill, and parallel ones spill pathologically (minutes
    instead of seconds at scale 1); each model's session gets var('postgres_work_mem').
-#}
{% macro session_settings() -%}
    {%- if target.type == 'postgres' -%}
        set work_mem = '{{ var("postgres_work_mem") }}'
    {%- endif -%}
{%- endmacro %}
