with

countries as (

    select * from {{ ref('countries') }}

),

final as (

    select
        {{ surrogate_key(['country_code']) }} as geography_sk,
        cast(country_code as varchar(2)) as country_code,
        cast(country_name as varchar(100)) as country_name,
        cast(region as varchar(50)) as region,
        cast(currency_code as varchar(3)) as currency_code
    from countries

    union all

    select
        {{ unknown_key() }} as geography_sk,
        cast('??' as varchar(2)) as country_code,
        cast('Unknown' as varchar(100)) as country_name,
        cast('Unknown' as varchar(50)) as region,
        cast(null as varchar(3)) as currency_code

)

select * from final
