{{
    config(
        indexes=[
            {'columns': ['daily_sales_sk'], 'unique': true},
            {'columns': ['sales_date']},
        ],
    )
}}

with

order_lines as (

    select * from {{ ref('fct_order_items') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

geographies as (

    select * from {{ ref('dim_geography') }}

),

lines as (

    select
        order_lines.order_date,
        order_lines.order_date_key,
        products.category,
        geographies.country_code,
        geographies.region,
        order_lines.order_id,
        order_lines.quantity,
        order_lines.gross_amount_usd,
        order_lines.discount_amount_usd,
        order_lines.net_revenue_usd,
        order_lines.is_cancelled
    from order_lines
    inner join products
        on order_lines.product_sk = products.product_sk
    inner join geographies
        on order_lines.geography_sk = geographies.geography_sk

),

final as (

    select
        cast(
            {{ surrogate_key(['order_date', 'category', 'country_code']) }} as varchar(32)
        ) as daily_sales_sk,
        cast(order_date as date) as sales_date,
        cast(order_date_key as integer) as date_key,
        cast(category as varchar(50)) as category,
        cast(country_code as varchar(2)) as country_code,
        cast(region as varchar(50)) as region,
        cast(count(distinct order_id) as integer) as order_count,
        cast(count(*) as integer) as line_count,
        cast(sum(case when is_cancelled then 1 else 0 end) as integer) as cancelled_line_count,
        cast(coalesce(sum(quantity), 0) as bigint) as quantity,
        cast(coalesce(sum(gross_amount_usd), 0) as numeric(18, 2)) as gross_amount_usd,
        cast(coalesce(sum(discount_amount_usd), 0) as numeric(18, 2)) as discount_amount_usd,
        cast(coalesce(sum(net_revenue_usd), 0) as numeric(18, 2)) as net_revenue_usd
    from lines
    group by order_date, order_date_key, category, country_code, region

)

select * from final
