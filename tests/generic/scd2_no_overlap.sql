{#-
    SCD2: the validity windows of one key never overlap (and never run backwards).
    A window is [valid_from, valid_to); an open window has valid_to null.
-#}
{% test scd2_no_overlap(model, key, valid_from='valid_from', valid_to='valid_to') %}

with versions as (
    select
        {{ key }} as scd_key,
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to
    from {{ model }}
),

backwards as (
    select scd_key
    from versions
    where valid_to is not null and valid_to < valid_from
),

overlapping as (
    select a.scd_key
    from versions as a
    inner join versions as b
        on
            a.scd_key = b.scd_key
            and a.valid_from < b.valid_from
            and (a.valid_to is null or a.valid_to > b.valid_from)
),

final as (
    select scd_key from backwards
    union all
    select scd_key from overlapping
)

select * from final

{% endtest %}
