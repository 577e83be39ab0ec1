-- The five best-selling products of each category by net revenue in US dollars, with
-- the product attributes current today (not as sold); from the monthly product sales,
-- which hold the order lines' figures in about 50 times fewer rows.
with

product_months as (

    select * from {{ ref('rpt_monthly_product_sales') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

current_products as (

    select
        product_id,
        product_name,
        category
    from products
    where is_current and not is_deleted

),

sales as (

    select
        product_id,
        sum(net_revenue_usd) as net_revenue_usd,
        sum(quantity) as units
    from product_months
    group by product_id

),

ranked as (

    select
        current_products.category,
        current_products.product_name,
        sales.net_revenue_usd,
        sales.units,
        row_number()
            over (partition by current_products.category order by sales.net_revenue_usd desc)
            as rank_in_category
    from sales
    inner join current_products
        on sales.product_id = current_products.product_id

),

final as (

    select * from ranked
    where rank_in_category <= 5

)

select * from final
order by category, rank_in_category
