{#-
    Rejects: a raw row whose required values are missing or do not parse never reaches a
    fact (docs: rejects). A staging model lists its checks once, in order, with
    `reject_check`; `reject_columns` renders the first failing check of each row as three
    columns: `rejected_column`, `rejected_value` (the raw text) and `reject_reason`, all
    null for a good row.
-#}
{% macro reject_check(column, parsed, expected, required=true) -%}
    {{ return({'column': column, 'parsed': parsed, 'expected': expected, 'required': required}) }}
{%- endmacro %}


{% macro reject_columns(checks) -%}
    case
        {%- for c in checks %}
        {%- if c.required %}
        when {{ clean_text(c.column) }} is null then '{{ c.column }}'
        {%- endif %}
        when {{ clean_text(c.column) }} is not null and ({{ c.parsed }}) is null then '{{ c.column }}'
        {%- endfor %}
    end as rejected_column,
    case
        {%- for c in checks %}
        {%- if c.required %}
        when {{ clean_text(c.column) }} is null then {{ c.column }}
        {%- endif %}
        when {{ clean_text(c.column) }} is not null and ({{ c.parsed }}) is null then {{ c.column }}
        {%- endfor %}
    end as rejected_value,
    case
        {%- for c in checks %}
        {%- if c.required %}
        when {{ clean_text(c.column) }} is null then 'missing {{ c.column }}'
        {%- endif %}
        when {{ clean_text(c.column) }} is not null and ({{ c.parsed }}) is null
            then '{{ c.column }} is not {{ c.expected }}'
        {%- endfor %}
    end as reject_reason
{%- endmacro %}
