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


{#- The key of a dimension member matched by a left join (its natural key, as the dimension
    hashes it), or the unknown member's key when nothing matched. -#}
{% macro member_key(natural_key) -%}
    case
        when {{ natural_key }} is null then {{ unknown_key() }}
        else {{ surrogate_key([natural_key]) }}
    end
{%- endmacro %}
