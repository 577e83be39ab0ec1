{#-
    One rate per currency and calendar day: the day's published rate, or else the
    latest earlier one (FX is published on business days only). US dollars are 1.
    Rebuilt on every run: it is small (currencies × calendar days) whatever the history.
-#}
{{ config(materialized='table') }}

with

published as (

    select * from {{ ref('stg_finance__fx_rates') }}
    where reject_reason is null

),

countries as (

    select * from {{ ref('countries') }}

),

calendar as (

    {{ calendar_spine() }}

),

ranked as (

    select
        *,
        {{ to_utc('loaded_at') }} as source_loaded_at,
        row_number() over (
            partition by rate_date, currency_code
            order by {{ latest_version_first('published_at', 'loaded_at') }}
        ) as version_rank
    from published

),

rates as (

    select * from ranked
    where version_rank = 1

),

currencies as (

    select distinct currency_code from rates
    union
    select distinct currency_code from countries

),

days_by_currency as (

    select
        calendar.date_day,
        currencies.currency_code,
        case when rates.usd_per_unit is not null then calendar.date_day end as published_day
    from calendar
    cross join currencies
    left join rates
        on
            calendar.date_day = rates.rate_date
            and currencies.currency_code = rates.currency_code

),

carried as (

    select
        date_day,
        currency_code,
        max(published_day) over (
            partition by currency_code
            order by date_day
            rows between unbounded preceding and current row
        ) as rate_source_date
    from days_by_currency

),

final as (

    select
        {{ surrogate_key(['carried.date_day', 'carried.currency_code']) }} as fx_rate_day_sk,
        carried.date_day as rate_date,
        carried.currency_code,
        case
            when carried.currency_code = 'USD' then cast(1 as numeric(18, 8))
            else rates.usd_per_unit
        end as usd_per_unit,
        case
            when carried.currency_code = 'USD' then carried.date_day else carried.rate_source_date
        end as rate_source_date,
        coalesce(
            carried.currency_code != 'USD' and carried.rate_source_date != carried.date_day, false
        ) as is_carried_forward,
        rates.source_loaded_at
    from carried
    left join rates
        on
            carried.rate_source_date = rates.rate_date
            and carried.currency_code = rates.currency_code
    where carried.currency_code = 'USD' or carried.rate_source_date is not null

)

select * from final
