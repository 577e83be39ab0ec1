{#-
    The order that makes the first row of a key its current version (docs: current_version):
    the greatest `timestamp_column`, then the version loaded last (`loaded_at`, the later
    file, the later line). Written once here so every model breaks ties alike.
-#}
{% macro latest_version_first(timestamp_column=none, loaded_at='source_loaded_at') -%}
    {%- if timestamp_column -%}{{ timestamp_column }} desc nulls last, {% endif -%}
    {{ loaded_at }} desc, source_file desc, source_row_number desc
{%- endmacro %}
