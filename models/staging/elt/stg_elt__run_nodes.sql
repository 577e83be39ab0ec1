{#- One row per node a recorded dbt invocation ran, times in UTC. -#}
with

source as (

    select * from {{ source('elt', 'run_nodes') }}

),

renamed as (

    select
        invocation_id,
        unique_id,
        resource_type,
        node_name,
        status as node_status,
        message as node_message,
        cast(rows_affected as bigint) as rows_affected,
        cast(failures as bigint) as failures,
        cast(execution_seconds as numeric(12, 3)) as execution_seconds,
        {{ to_utc('started_at') }} as node_started_at,
        {{ to_utc('finished_at') }} as node_finished_at,
        resource_type in ('test', 'unit_test') as is_test
    from source

)

select * from renamed
