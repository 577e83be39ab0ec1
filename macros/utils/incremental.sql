{#-
    The lookback filter of an incremental model: rows whose `date_column` is on or after
    the latest day already in the model minus `days`. Empty on a full build.
-#}
{% macro lookback_filter(date_column, target_date_column, days) -%}
    {%- if is_incremental() -%}
        where {{ date_column }} >= (
            select coalesce(max({{ target_date_column }}), cast('1900-01-01' as date)) - {{ days }}
            from {{ this }}
        )
    {%- endif -%}
{%- endmacro %}
