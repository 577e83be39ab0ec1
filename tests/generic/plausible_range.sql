{#-
    Plausibility (the publication audit, docs/operations.md#the-audit): every value of the
    column lies within a declared range. A failing row says what broke which rule:
    `value`, `rule` and `row_key` (the row's key), which `elt publish` prints.
-#}
{% test plausible_range(model, column_name, min_value=none, max_value=none, row_key=none) %}

{%- set bounds = [] -%}
{%- if min_value is not none %}{% do bounds.append(column_name ~ ' >= ' ~ min_value) %}{% endif -%}
{%- if max_value is not none %}{% do bounds.append(column_name ~ ' <= ' ~ max_value) %}{% endif -%}
{%- set rule = bounds | join(' and ') %}

select
    cast({{ column_name }} as {{ text_type() }}) as value,
    '{{ rule }}' as rule,
    cast({{ row_key or column_name }} as {{ text_type() }}) as row_key
from {{ model }}
where not ({{ rule }})

{% endtest %}
