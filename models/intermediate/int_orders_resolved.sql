{#-
    The order header, resolved once for every fact (docs: order_header): the order's
    current status and milestones, the customer version as of the order time, the
    customer's geography, the channel, the currency and its FX rate on the order day.
    Incremental: a run rebuilds the orders whose CDC rows changed, the orders placed
    after a customer version that changed, and the orders of a day whose FX rate changed.
-#}
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        on_schema_change='fail',
        indexes=postgres_indexes([
            {'columns': ['order_id'], 'unique': true},
            {'columns': ['source_loaded_at']},
            {'columns': ['keys_loaded_at']},
        ]),
    )
}}

{%- set watermark = loaded_watermark() %}

with

merged_orders as {{ inline_cte() }} (

    select * from {{ ref('int_orders_merged') }}

),

customer_versions as {{ inline_cte() }} (

    select * from {{ ref('int_customer_versions') }}

),

fx_rates as {{ inline_cte() }} (

    select * from {{ ref('int_fx_rates_filled') }}

),

countries as {{ inline_cte() }} (

    select * from {{ ref('countries') }}

),

channels as {{ inline_cte() }} (

    select * from {{ ref('channels') }}

),

statuses as {{ inline_cte() }} (

    select * from {{ ref('order_statuses') }}

),

{% if is_incremental() %}

    changed_customers as (

        select
            customer_id,
            min(valid_from) as changed_from
        from customer_versions
        {{ loaded_after_watermark('source_loaded_at', watermark) }}
        group by customer_id

    ),

    changed_rates as (

        select
            currency_code,
            min(rate_date) as changed_from
        from fx_rates
        {{ loaded_after_watermark('source_loaded_at', watermark) }}
        group by currency_code

    ),

    orders as (

        select merged_orders.*
        from merged_orders
        {{ loaded_after_watermark('merged_orders.source_loaded_at', watermark) }}

        union

        select merged_orders.*
        from merged_orders
        inner join changed_customers
            on
                merged_orders.customer_id = changed_customers.customer_id
                and merged_orders.placed_at >= changed_customers.changed_from

        union

        select merged_orders.*
        from merged_orders
        inner join changed_rates
            on
                merged_orders.currency_code = changed_rates.currency_code
                and cast(merged_orders.placed_at as date) >= changed_rates.changed_from

    ),

{% else %}

orders as (

    select * from merged_orders

),

{% endif %}

with_customer as (

    {{ scd2_lookup(
        'orders', 'customer_versions',
        natural_key='customer_id', fact_key='customer_id', fact_time='placed_at',
        sk_name='customer_sk', dimension_sk='customer_version_sk',
    ) }}

),

resolved as (

    select
        with_customer.order_id,
        with_customer.customer_id,
        with_customer.customer_sk,
        {{ member_key('countries.country_code') }} as geography_sk,
        {{ member_key('channels.channel') }} as channel_sk,
        {{ member_key('statuses.order_status') }} as order_status_sk,
        with_customer.order_status,
        with_customer.order_status = 'cancelled' as is_cancelled,
        with_customer.currency_code,
        with_customer.coupon_code,
        with_customer.placed_at as ordered_at,
        cast(with_customer.placed_at as date) as order_date,
        with_customer.paid_reached_at as paid_at,
        with_customer.shipped_reached_at as shipped_at,
        with_customer.delivered_reached_at as delivered_at,
        with_customer.cancelled_reached_at as cancelled_at,
        with_customer.returned_reached_at as returned_at,
        fx_rates.usd_per_unit,
        {{ greatest_of([
            'with_customer.source_loaded_at',
            'customer_versions.source_loaded_at',
            'fx_rates.source_loaded_at',
        ]) }} as source_loaded_at
    from with_customer
    left join customer_versions
        on with_customer.customer_sk = customer_versions.customer_version_sk
    left join countries
        on customer_versions.country_code = countries.country_code
    left join channels
        on with_customer.channel = channels.channel
    left join statuses
        on with_customer.order_status = statuses.order_status
    left join fx_rates
        on
            cast(with_customer.placed_at as date) = fx_rates.rate_date
            and with_customer.currency_code = fx_rates.currency_code

),

-- when what the facts' rows take from the header (order time, customer version,
-- geography, channel, currency, FX rate, cancellation) last changed: a new status alone
-- does not make the facts rebuild an order's lines and payments
final as (

    select
        resolved.*,
        {% if is_incremental() %}
            case
                when
                    previous.order_id is not null
                    and resolved.ordered_at = previous.ordered_at
                    and resolved.customer_sk = previous.customer_sk
                    and resolved.geography_sk = previous.geography_sk
                    and resolved.channel_sk = previous.channel_sk
                    and resolved.is_cancelled = previous.is_cancelled
                    and resolved.currency_code is not distinct from previous.currency_code
                    and resolved.usd_per_unit is not distinct from previous.usd_per_unit
                    then previous.keys_loaded_at
                else resolved.source_loaded_at
            end as keys_loaded_at
        {% else %}
        resolved.source_loaded_at as keys_loaded_at
        {% endif %}
    from resolved
    {% if is_incremental() %}
        left join {{ this }} as previous
            on resolved.order_id = previous.order_id
    {% endif %}

)

select * from final
