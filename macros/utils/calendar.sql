{#- Every day from var('calendar_start') to var('calendar_end'), as `date_day`. -#}
{% macro calendar_spine() -%}
    {{ return(adapter.dispatch('calendar_spine')()) }}
{%- endmacro %}

{% macro default__calendar_spine() -%}
    select cast(series.day_start as date) as date_day
    from generate_series(
        cast('{{ var("calendar_start") }}' as timestamp),
        cast('{{ var("calendar_end") }}' as timestamp),
        interval '1 day'
    ) as series (day_start)
{%- endmacro %}

{% macro spark__calendar_spine() -%}
    select explode(sequence(
        cast('{{ var("calendar_start") }}' as date),
        cast('{{ var("calendar_end") }}' as date),
        interval 1 day
    )) as date_day
{%- endmacro %}


{#- ISO day of the week: 1 (Monday) to 7 (Sunday). -#}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(date_expression)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expression) -%}
    extract(isodow from {{ date_expression }})
{%- endmacro %}

{% macro spark__iso_day_of_week(date_expression) -%}
    extract(dayofweek_iso from {{ date_expression }})
{%- endmacro %}


{#- yyyymmdd as an integer: the key of dim_date; -1 (the unknown day) for null. -#}
{% macro date_key(date_expression) -%}
    coalesce(
        cast(extract(year from {{ date_expression }}) * 10000
            + extract(month from {{ date_expression }}) * 100
            + extract(day from {{ date_expression }}) as integer),
        -1
    )
{%- endmacro %}


{#- Seconds from one timestamp to a later one (fractions kept); null when either is missing. -#}
{% macro seconds_between(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('seconds_between')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro spark__seconds_between(start_expression, end_expression) -%}
    (cast(unix_micros({{ end_expression }}) - unix_micros({{ start_expression }}) as double) / 1000000)
{%- endmacro %}

{% macro default__seconds_between(start_expression, end_expression) -%}
    (extract(epoch from {{ end_expression }}) - extract(epoch from {{ start_expression }}))
{%- endmacro %}


{#- Hours from one timestamp to a later one, to two decimals; null when either is missing. -#}
{% macro hours_between(start_expression, end_expression) -%}
    cast(round(cast(
        {{ seconds_between(start_expression, end_expression) }} / 3600.0
        as numeric(18, 4)), 2) as numeric(12, 2))
{%- endmacro %}
