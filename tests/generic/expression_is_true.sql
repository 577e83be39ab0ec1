{#- Every row (matching the optional `where`) satisfies the expression. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not ({{ expression }})

{% endtest %}
