{#- The run history: one row per `elt load` and dbt invocation, times in UTC. -#}
with

source as (

    select * from {{ source('elt', 'runs') }}

),

renamed as (

    select
        invocation_id,
        command as run_command,
        environment as environment_name,
        target as target_name,
        git_commit,
        orchestrator_run_id,
        status as run_status,
        cast(exit_code as integer) as exit_code,
        {{ to_utc('started_at') }} as run_started_at,
        {{ to_utc('finished_at') }} as run_finished_at,
        cast({{ seconds_between('started_at', 'finished_at') }} as numeric(12, 3)) as run_seconds,
        command = 'load' as is_load
    from source

)

select * from renamed
