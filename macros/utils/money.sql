{#- An amount in its own currency to US dollars, rounded to cents. `usd_per_unit` is the
    FX rate: US dollars per one unit of the currency. -#}
{% macro to_usd(amount, usd_per_unit) -%}
    cast(round(cast({{ amount }} as numeric(28, 10)) * cast({{ usd_per_unit }} as numeric(28, 10)), 2) as numeric(18, 2))
{%- endmacro %}


{#- Minor units (cents) to major units. -#}
{% macro cents_to_amount(cents) -%}
    cast(cast({{ cents }} as numeric(18, 2)) / 100 as numeric(18, 2))
{%- endmacro %}
