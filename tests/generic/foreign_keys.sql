{#-
    Foreign keys, one test per model (docs: test_families): each `keys` entry
    `{column, to, field}` says every non-null `column` value is a `field` of `to` (a ref or a
    source), as dbt's `relationships` test says it for one column. One node for all of a
    model's keys, where a test per column would cost dbt a node each (a night's fixed cost);
    the model's rows are read once. A failing row says which rule broke where: `value` (the
    orphan), `rule` ('<column> references <to>.<field>') and `row_key` (`row_key`, by
    default the column), which `elt publish` prints; the failure count is the number of
    orphan rows, as the column tests counted them.
-#}
{% test foreign_keys(model, keys, row_key=none) %}

{%- if keys is string or keys is mapping or not keys -%}
    {{ exceptions.raise_compiler_error(
        "foreign_keys on " ~ model ~ ": `keys` must be a list of {column, to, field}") }}
{%- endif %}

with elt_child as (

    select * from {{ model }}

)

{% for key in keys -%}
{%- if not (key.column and key.to and key.field) -%}
    {{ exceptions.raise_compiler_error(
        "foreign_keys on " ~ model ~ ": each of `keys` needs column, to and field, got " ~ key) }}
{%- endif -%}
select
    cast(elt_child.{{ key.column }} as {{ text_type() }}) as value,
    '{{ key.column }} references {{ key.to.identifier }}.{{ key.field }}' as rule,
    cast(elt_child.{{ row_key or key.column }} as {{ text_type() }}) as row_key
from elt_child
left join (select distinct {{ key.field }} as elt_parent_key from {{ key.to }}) as elt_parent
    on elt_child.{{ key.column }} = elt_parent.elt_parent_key
where elt_child.{{ key.column }} is not null
    and elt_parent.elt_parent_key is null
{%- if not loop.last %}

union all

{% endif %}
{%- endfor %}

{% endtest %}
