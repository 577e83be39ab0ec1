{#-
    Raw → fact, row by row, for a fact built from one staged source: every good raw row (of
    the last loads in an incremental build; of all of raw when testing every row, docs:
    test_scope) has its row in the fact (`model`), and every reject is listed in
    rpt_rejected_rows. When testing every row, also the count: rows in raw = fact rows +
    rejects + the raw rows that repeat a fact row (exact duplicates, superseded versions:
    documented exclusions), each good key once in the fact. `staged` names the staging
    model, `keys` its columns that name a fact row (the same columns in the fact). Give the
    test `where: "1 = 1"`: the fact is read whole (a raw row re-delivered tonight has an
    older fact row).
-#}
{% test reconciles_raw_to_fact(model, staged, source_table, keys) %}

{%- set key_text -%}
    {%- for key in keys -%}
        cast({{ key }} as {{ dbt.type_string() }}){% if not loop.last %} || '-' || {% endif %}
    {%- endfor -%}
{%- endset %}

with

staged as (

    select * from {{ ref(staged) }}
    where {{ recent_raw_rows() }}

),

facts as (

    select * from {{ model }}

),

rejected as (

    select * from {{ ref('rpt_rejected_rows') }}
    where source_table = '{{ source_table }}'

),

good_rows_without_a_fact as (

    select
        'a good raw row has no row in {{ model.identifier }}' as problem,
        staged.source_file,
        staged.source_row_number
    from staged
    where
        staged.reject_reason is null
        and not exists (
            select 1
            from facts
            where
                {% for key in keys -%}
                    facts.{{ key }} = staged.{{ key }}{% if not loop.last %} and {% endif %}
                {%- endfor %}
        )

),

rejects_not_listed as (

    select
        'a rejected raw row is missing from rpt_rejected_rows' as problem,
        staged.source_file,
        staged.source_row_number
    from staged
    where
        staged.reject_reason is not null
        and not exists (
            select 1
            from rejected
            where
                rejected.source_file = staged.source_file
                and rejected.source_row_number = staged.source_row_number
        )

),

{% if testing_all_rows() %}

    counts as (

        select
            count(*) as raw_rows,
            sum(case when reject_reason is null then 1 else 0 end) as good_rows,
            count(distinct case when reject_reason is null then {{ key_text }} end)
                as distinct_keys
        from staged

    ),

    totals_disagree as (

        select
            'raw rows != fact rows + rejects + repeated rows' as problem,
            cast(null as {{ dbt.type_string() }}) as source_file,
            cast(null as bigint) as source_row_number
        from counts
        where
            counts.raw_rows != (select count(*) from facts)
            + (select count(*) from rejected)
            + counts.good_rows - counts.distinct_keys
            or (select count(*) from facts) != counts.distinct_keys

    ),

{% endif %}

final as (

    select * from good_rows_without_a_fact
    union all
    select * from rejects_not_listed
    {% if testing_all_rows() %}
        union all
        select * from totals_disagree
    {% endif %}

)

select * from final

{% endtest %}
