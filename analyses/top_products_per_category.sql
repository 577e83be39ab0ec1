-- The five best-selling products of each category by net revenue in US dollars, with
-- the product attributes current today (not as sold).
with

lines as (

    select * from {{ ref('fct_order_items') }}

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
        lines.product_id,
        sum(lines.net_revenue_usd) as net_revenue_usd,
        sum(lines.quantity) as units
    from lines
    where not lines.is_unknown_product
    group by lines.product_id

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
