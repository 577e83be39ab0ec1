{#-
    How long the pipeline's runs took each day, per environment and command (load, build,
    ...), from the run history. A view: it shows runs recorded after the last build too.
-#}
{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('stg_elt__runs') }}

),

daily as (

    select
        environment_name,
        cast(run_started_at as date) as run_date,
        run_command,
        count(*) as runs,
        sum(case when run_status = 'error' then 1 else 0 end) as failed_runs,
        sum(case when run_status = 'warn' then 1 else 0 end) as warned_runs,
        sum(run_seconds) as total_seconds,
        max(run_seconds) as longest_run_seconds,
        min(run_started_at) as first_started_at,
        max(run_finished_at) as last_finished_at
    from runs
    group by environment_name, cast(run_started_at as date), run_command

),

final as (

    select
        {{ surrogate_key(['environment_name', 'run_date', 'run_command']) }} as daily_run_sk,
        cast(environment_name as varchar(100)) as environment_name,
        cast(run_date as date) as run_date,
        cast(run_command as varchar(30)) as run_command,
        cast(runs as integer) as runs,
        cast(failed_runs as integer) as failed_runs,
        cast(warned_runs as integer) as warned_runs,
        cast(total_seconds as numeric(12, 3)) as total_seconds,
        cast(longest_run_seconds as numeric(12, 3)) as longest_run_seconds,
        cast(
            {{ seconds_between('first_started_at', 'last_finished_at') }} as numeric(12, 3)
        ) as wall_clock_seconds,
        cast(first_started_at as timestamp) as first_started_at,
        cast(last_finished_at as timestamp) as last_finished_at
    from daily

)

select * from final
