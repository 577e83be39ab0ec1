{#-
    The surrogate key of the dimension version valid at a fact's time. A fact whose
    time falls before the first version captured (a record first seen after the fact)
    takes the first version; a key the dimension does not know takes the unknown member.
    Renders a query over `facts` (a CTE name) adding the column `sk_name`.
-#}
{% macro scd2_lookup(facts, dimension, natural_key, fact_key, fact_time, sk_name, dimension_sk) -%}
    select
        {{ facts }}.*,
        coalesce(as_of.{{ dimension_sk }}, first_version.{{ dimension_sk }}, {{ unknown_key() }}) as {{ sk_name }}
    from {{ facts }}
    left join {{ dimension }} as as_of
        on
            {{ facts }}.{{ fact_key }} = as_of.{{ natural_key }}
            and {{ facts }}.{{ fact_time }} >= as_of.valid_from
            and ({{ facts }}.{{ fact_time }} < as_of.valid_to or as_of.valid_to is null)
    left join (
        select {{ natural_key }}, {{ dimension_sk }}
        from (
            select
                {{ natural_key }},
                {{ dimension_sk }},
                row_number() over (partition by {{ natural_key }} order by valid_from) as version_number
            from {{ dimension }}
        ) as numbered
        where version_number = 1
    ) as first_version
        on {{ facts }}.{{ fact_key }} = first_version.{{ natural_key }}
{%- endmacro %}


{#-
    The versions an SCD2 dimension rebuilds: every version of `relation` (an int_ model of
    versions carrying `source_loaded_at`) in a full build; in an incremental one, every
    version of each `key` that gained a version since the last run (the dimension is
    incremental by `key`, delete+insert: a changed entity's versions are rewritten whole).
-#}
{% macro versions_of_changed(relation, key) -%}
    select * from {{ relation }}
    {% if is_incremental() %}
        where {{ key }} in (
            select changed.{{ key }}
            from {{ relation }} as changed
            {{ loaded_after_watermark('changed.source_loaded_at', loaded_watermark()) }}
        )
    {% endif %}
{%- endmacro %}
