{#-
    Daily sales in US dollars by product category, customer country and order currency.
    Lines without a US dollar amount (no FX rate on or before the order day) are never
    counted as zero: their revenue stays in the order currency, apart, and flagged.
    Incremental by load: a run rebuilds every order day that has a rebuilt line.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_date',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['daily_sales_sk'], 'unique': true},
            {'columns': ['order_date']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

order_lines as {{ inline_cte() }} (

    select * from {{ ref('fct_order_items') }}

),

products as {{ inline_cte() }} (

    select * from {{ ref('dim_product') }}

),

geographies as {{ inline_cte() }} (

    select * from {{ ref('dim_geography') }}

),

{% if is_incremental() %}

    days_to_rebuild as (

        select distinct order_date from order_lines
        {{ loaded_after_watermark('source_loaded_at', watermark) }}

    ),

    lines_to_report as (

        select * from order_lines
        where order_date in (select days_to_rebuild.order_date from days_to_rebuild)

    ),

{% else %}

lines_to_report as (

    select * from order_lines

),

{% endif %}

lines as (

    select
        lines_to_report.order_date,
        lines_to_report.order_date_key,
        products.category,
        geographies.country_code,
        geographies.region,
        lines_to_report.order_id,
        lines_to_report.quantity,
        lines_to_report.net_revenue,
        lines_to_report.gross_amount_usd,
        lines_to_report.discount_amount_usd,
        lines_to_report.net_revenue_usd,
        lines_to_report.is_missing_fx_rate,
        lines_to_report.is_cancelled,
        lines_to_report.source_loaded_at,
        coalesce(lines_to_report.currency_code, 'XXX') as currency_code
    from lines_to_report
    inner join products
        on lines_to_report.product_sk = products.product_sk
    inner join geographies
        on lines_to_report.geography_sk = geographies.geography_sk

),

final as (

    select
        cast(
            {{ surrogate_key(['order_date', 'category', 'country_code', 'currency_code']) }}
            as varchar(32)
        ) as daily_sales_sk,
        cast(order_date as date) as order_date,
        cast(order_date_key as integer) as order_date_key,
        cast(category as varchar(50)) as category,
        cast(country_code as varchar(2)) as country_code,
        cast(region as varchar(50)) as region,
        cast(currency_code as varchar(3)) as currency_code,
        cast(count(distinct order_id) as integer) as order_count,
        cast(count(*) as integer) as line_count,
        cast(sum(case when is_cancelled then 1 else 0 end) as integer) as cancelled_line_count,
        cast(sum(quantity) as bigint) as quantity,
        cast(sum(gross_amount_usd) as numeric(18, 2)) as gross_amount_usd,
        cast(sum(discount_amount_usd) as numeric(18, 2)) as discount_amount_usd,
        cast(sum(net_revenue_usd) as numeric(18, 2)) as net_revenue_usd,
        cast(sum(case when is_missing_fx_rate then 1 else 0 end) as integer)
            as missing_fx_line_count,
        cast(
            coalesce(sum(case when is_missing_fx_rate then net_revenue end), 0)
            as numeric(18, 2)
        ) as missing_fx_net_revenue,
        cast(max(max(source_loaded_at)) over (partition by order_date) as timestamp)
            as source_loaded_at,
        sum(case when is_missing_fx_rate then 1 else 0 end) > 0 as has_missing_fx_rate
    from lines
    group by order_date, order_date_key, category, country_code, region, currency_code

)

select * from final
