{#- SCD2: every key has exactly one current version. -#}
{% test scd2_one_current(model, key, is_current='is_current') %}

with counts as (
    select
        {{ key }} as scd_key,
        sum(case when {{ is_current }} then 1 else 0 end) as current_versions
    from {{ model }}
    group by {{ key }}
),

final as (
    select *
    from counts
    where current_versions <> 1
)

select * from final

{% endtest %}
