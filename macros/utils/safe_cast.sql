{#-
    Safe casts from raw text. An unparseable value becomes null (staging flags it); it
    never fails the build. PostgreSQL has no try_cast, so both adapters validate with the
    same regular expressions first and then cast, which keeps them identical.
-#}

{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__regex_full_match(expression, pattern) -%}
    ({{ expression }} ~ '^(?:{{ pattern }})$')
{%- endmacro %}


{% macro spark__regex_full_match(expression, pattern) -%}
    ({{ expression }} rlike '^(?:{{ pattern }})$')
{%- endmacro %}


{% macro safe_to_bigint(expression) -%}
    case
        when {{ regex_full_match('trim(' ~ expression ~ ')', '[+-]?[0-9]{1,18}') }}
            then cast(trim({{ expression }}) as bigint)
    end
{%- endmacro %}


{% macro safe_to_integer(expression) -%}
    case
        when {{ regex_full_match('trim(' ~ expression ~ ')', '[+-]?[0-9]{1,9}') }}
            then cast(trim({{ expression }}) as integer)
    end
{%- endmacro %}


{% macro safe_to_numeric(expression, precision=18, scale=2) -%}
    case
        when {{ regex_full_match('trim(' ~ expression ~ ')', '[+-]?[0-9]{1,15}([.][0-9]+)?') }}
            then cast(trim({{ expression }}) as numeric({{ precision }}, {{ scale }}))
    end
{%- endmacro %}


{#- A real calendar day: month 1-12, day within the month (leap years included). -#}
{% macro _is_real_day(expression) -%}
    (
        cast(substring({{ expression }}, 9, 2) as integer) <= case
            when substring({{ expression }}, 6, 2) in ('04', '06', '09', '11') then 30
            when substring({{ expression }}, 6, 2) <> '02' then 31
            when mod(cast(substring({{ expression }}, 1, 4) as integer), 400) = 0 then 29
            when mod(cast(substring({{ expression }}, 1, 4) as integer), 100) = 0 then 28
            when mod(cast(substring({{ expression }}, 1, 4) as integer), 4) = 0 then 29
            else 28
        end
    )
{%- endmacro %}


{% macro safe_to_date(expression) -%}
    case
        when {{ regex_full_match('trim(' ~ expression ~ ')', '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])') }}
            and {{ _is_real_day('trim(' ~ expression ~ ')') }}
            then cast(trim({{ expression }}) as date)
    end
{%- endmacro %}


{#-
    ISO-8601 text (T or space, optional fractional seconds, optional Z or +HH:MM) to a
    UTC timestamp without time zone. Text without an offset is taken as UTC, whatever the
    session's time zone.
-#}
{% macro safe_to_utc_timestamp(expression) -%}
    {%- set text = 'trim(' ~ expression ~ ')' -%}
    case
        when {{ regex_full_match(text, '[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?') }}
            and {{ _is_real_day(text) }}
            then {{ utc_timestamp_from_iso(text) }}
    end
{%- endmacro %}

{#- Whether the text after the seconds carries a zone: Z, +HH, +HHMM or +HH:MM. -#}
{% macro _has_offset(text) -%}
    {{ regex_full_match('substring(' ~ text ~ ', 20)', '([.][0-9]{1,6})?(Z|[+-][0-9:]{2,5})') }}
{%- endmacro %}

{% macro utc_timestamp_from_iso(text) -%}
    {{ return(adapter.dispatch('utc_timestamp_from_iso')(text)) }}
{%- endmacro %}

{% macro default__utc_timestamp_from_iso(text) -%}
    timezone('UTC', cast(
        case when {{ _has_offset(text) }} then {{ text }} else {{ text }} || '+00:00' end
        as timestamptz))
{%- endmacro %}

{#- Spark's timestamp is an instant; sessions run in UTC (profiles.yml), so it reads as UTC -#}
{% macro spark__utc_timestamp_from_iso(text) -%}
    cast(
        case when {{ _has_offset(text) }} then {{ text }} else {{ text }} || '+00:00' end
        as timestamp)
{%- endmacro %}

{% macro postgres__utc_timestamp_from_iso(text) -%}
    (cast(
        case when {{ _has_offset(text) }} then {{ text }} else {{ text }} || '+00:00' end
        as timestamptz) at time zone 'UTC')
{%- endmacro %}


{#- Trimmed text; blanks and the usual spellings of "nothing" become null. -#}
{% macro clean_text(expression) -%}
    case
        when upper(trim({{ expression }})) in ('', 'NULL', 'N/A', 'NA', 'NONE', '-') then null
        else trim({{ expression }})
    end
{%- endmacro %}
