{#- A timestamp with time zone as a UTC timestamp without one, whatever the session's zone. -#}
{% macro to_utc(expression) -%}
    {{ return(adapter.dispatch('to_utc')(expression)) }}
{%- endmacro %}

{% macro default__to_utc(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{#- Spark: timestamps are instants shown in the session's zone, UTC (profiles.yml) -#}
{% macro spark__to_utc(expression) -%}
    cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro postgres__to_utc(expression) -%}
    ({{ expression }} at time zone 'UTC')
{%- endmacro %}
