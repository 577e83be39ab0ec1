{#-
    Plausibility (the publication audit): a line's unit price, in US dollars, lies within a
    declared band of its product's list price at the order time (the product version the line
    resolved to, converted with the list currency's FX rate of the order day). A price typed
    in cents instead of units, or in another currency, falls far outside. Lines of unknown
    products or without an FX rate are left to their own tests.
-#}
{% test unit_price_within_list_price_band(model, column_name, products, fx_rates, low, high, row_key) %}

with

lines as (

    select * from {{ model }}

),

product_versions as (

    select * from {{ products }}

),

fx_rates as (

    select * from {{ fx_rates }}

),

priced as (

    select
        lines.{{ row_key }} as row_key,
        lines.{{ column_name }} as unit_price,
        lines.currency_code,
        lines.{{ column_name }} * lines.usd_per_unit as unit_price_usd,
        product_versions.list_price * fx_rates.usd_per_unit as list_price_usd
    from lines
    inner join product_versions
        on lines.product_sk = product_versions.product_sk
    inner join fx_rates
        on
            product_versions.list_price_currency_code = fx_rates.currency_code
            and lines.order_date = fx_rates.rate_date
    where
        not lines.is_unknown_product
        and lines.usd_per_unit is not null
        and product_versions.list_price > 0

),

final as (

    select
        cast(unit_price as {{ text_type() }}) || ' ' || currency_code as value,
        'unit price in USD between {{ low }} and {{ high }} x the list price in USD ('
        || cast(round(list_price_usd, 2) as {{ text_type() }}) || ')' as rule,
        cast(row_key as {{ text_type() }}) as row_key
    from priced
    where
        unit_price_usd < {{ low }} * list_price_usd
        or unit_price_usd > {{ high }} * list_price_usd

)

select * from final

{% endtest %}
