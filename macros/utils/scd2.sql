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


{#-
    The configuration every SCD2 dimension shares: incremental by its natural key
    (delete+insert: a changed entity's versions are rewritten whole; see versions_of_changed),
    a schema change fails the build, and on PostgreSQL a unique index on the version key and
    one on the natural key.
-#}
{% macro scd2_dimension_config(natural_key, version_key) -%}
    {{ config(
        materialized='incremental',
        unique_key=natural_key,
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': [version_key], 'unique': true},
            {'columns': [natural_key]},
        ]),
    ) }}
{%- endmacro %}


{#- The unknown member's validity: always valid, always current, loaded by nobody. -#}
{% macro unknown_member_validity() -%}
    cast('1900-01-01' as timestamp) as valid_from,
    cast(null as timestamp) as valid_to,
    true as is_current,
    cast(null as timestamp) as source_loaded_at
{%- endmacro %}


{#- A dimension's rows: its versions, and the unknown member in a full build (an incremental
    one keeps the member it has). -#}
{% macro versions_and_unknown_member(versions, unknown_member) -%}
    select * from {{ versions }}
    {% if not is_incremental() -%}
        union all
        select * from {{ unknown_member }}
    {%- endif %}
{%- endmacro %}
