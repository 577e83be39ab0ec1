{#- One row per order: when it first reached each status of its lifecycle. -#}
with

changes as (

    select * from {{ ref('stg_shop__order_status_changes') }}

),

final as (

    select
        order_id,
        min(placed_date) as placed_date,
        min(case when order_status = 'placed' then changed_at end) as placed_at,
        min(case when order_status = 'paid' then changed_at end) as paid_at,
        min(case when order_status = 'shipped' then changed_at end) as shipped_at,
        min(case when order_status = 'delivered' then changed_at end) as delivered_at,
        min(case when order_status = 'cancelled' then changed_at end) as cancelled_at,
        min(case when order_status = 'returned' then changed_at end) as returned_at
    from changes
    group by order_id

)

select * from final
