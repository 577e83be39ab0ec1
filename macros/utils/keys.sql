{#-
    Surrogate keys on dbt's built-in hashing: md5 of the fields' text, joined by '|',
    with nulls spelled '_null_' (so (null, 'a') and ('a', null) differ). Facts hash their
    foreign keys the same way as the dimensions hash their primary keys.
-#}
{% macro surrogate_key(fields) -%}
    {%- set parts = [] -%}
    {%- for field in fields -%}
        {%- do parts.append("coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
    {%- endfor -%}
    cast({{ dbt.hash(parts | join(" || '|' || ")) }} as varchar(32))
{%- endmacro %}


{#- The key of every dimension's unknown member; facts fall back to it for orphans. -#}
{% macro unknown_key() -%}
    cast('00000000000000000000000000000000' as varchar(32))
{%- endmacro %}
