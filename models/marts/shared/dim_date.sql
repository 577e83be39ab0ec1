with

calendar as (

    {{ calendar_spine() }}

),

days as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('date_day') }} as integer) as day_of_week,
        cast(extract(week from date_day) as integer) as iso_week_number
    from calendar

),

final as (

    select
        {{ date_key('date_day') }} as date_key,
        cast(date_day as date) as date_day,
        year_number,
        quarter_number,
        month_number,
        cast(case month_number
            when 1 then 'January' when 2 then 'February' when 3 then 'March'
            when 4 then 'April' when 5 then 'May' when 6 then 'June'
            when 7 then 'July' when 8 then 'August' when 9 then 'September'
            when 10 then 'October' when 11 then 'November' else 'December'
        end as varchar(9)) as month_name,
        day_of_month,
        day_of_week,
        cast(case day_of_week
            when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday'
            when 4 then 'Thursday' when 5 then 'Friday' when 6 then 'Saturday' else 'Sunday'
        end as varchar(9)) as day_name,
        iso_week_number,
        day_of_week >= 6 as is_weekend
    from days

    union all

    select
        -1 as date_key,
        cast(null as date) as date_day,
        cast(null as integer) as year_number,
        cast(null as integer) as quarter_number,
        cast(null as integer) as month_number,
        cast('Unknown' as varchar(9)) as month_name,
        cast(null as integer) as day_of_month,
        cast(null as integer) as day_of_week,
        cast('Unknown' as varchar(9)) as day_name,
        cast(null as integer) as iso_week_number,
        cast(null as boolean) as is_weekend

)

select * from final
