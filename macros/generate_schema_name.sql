{#-
    Layers get plain schema names (staging, intermediate, marts, reference) instead of
    dbt's default "<target schema>_<custom schema>", so analysts query `marts.dim_date`.
    The optional elementary package's models go to `elementary` (set here rather than in
    dbt_project.yml, where the config would warn whenever the package is not installed).
    Other models without a custom schema land in the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is not none -%}
        {{ custom_schema_name | trim }}
    {%- elif node is not none and node.package_name == 'elementary' -%}
        elementary
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}
