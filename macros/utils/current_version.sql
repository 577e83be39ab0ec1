{#-
    The order that makes the first row of a key its current version (docs: current_version):
    the greatest `timestamp_column`, then the version loaded last (`_loaded_at`, the later
    file, the later line). Written once here so every staging model breaks ties alike.
-#}
{% macro latest_version_first(timestamp_column=none, relation_alias=none) -%}
    {%- set p = relation_alias ~ '.' if relation_alias else '' -%}
    {%- if timestamp_column -%}{{ p }}{{ timestamp_column }} desc nulls last, {% endif -%}
    {{ p }}_loaded_at desc, {{ p }}_source_file desc, {{ p }}_row_number desc
{%- endmacro %}
