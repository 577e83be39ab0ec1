{#-
    Not null, one test per model (docs: test_families): every listed column holds a value in
    every row. One scan of the model for all its columns, where a test per column would cost
    dbt a node each (a night's fixed cost). A failing row says which rule broke where:
    `value` ('null'), `rule` ('<column> is not null') and `row_key` (the row's `row_key`
    column, by default the first listed), which `elt publish` prints; the failure count is
    the number of null cells, as the column tests counted them.
-#}
{% test not_null_columns(model, columns, row_key=none) %}

{%- if columns is string or not columns -%}
    {{ exceptions.raise_compiler_error(
        "not_null_columns on " ~ model ~ ": `columns` must be a list of column names") }}
{%- endif -%}
{%- set key = row_key or columns[0] %}

with elt_null_rows as (

    select
        cast({{ key }} as {{ text_type() }}) as elt_row_key,
        {{ columns | join(',\n        ') }}
    from {{ model }}
    where
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} is null
        {%- endfor %}

)

{% for column in columns -%}
select
    'null' as value,
    '{{ column }} is not null' as rule,
    elt_row_key as row_key
from elt_null_rows
where {{ column }} is null
{%- if not loop.last %}

union all

{% endif %}
{%- endfor %}

{% endtest %}
