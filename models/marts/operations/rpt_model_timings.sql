{#-
    How long each model takes to build, per environment: its latest time and its average
    and slowest over its last 7 runs, ranked. A view over the run history.
-#}
{{ config(materialized='view') }}

{%- set recent_runs = 7 %}

with

node_runs as (

    select * from {{ ref('rpt_dbt_node_runs') }}
    where resource_type = 'model' and node_status = 'success'

),

ranked as (

    select
        node_runs.*,
        row_number() over (
            partition by node_runs.environment_name, node_runs.unique_id
            order by node_runs.run_started_at desc, node_runs.invocation_id desc
        ) as recency
    from node_runs

),

per_model as (

    select
        environment_name,
        unique_id,
        max(node_name) as model_name,
        max(case when recency = 1 then execution_seconds end) as latest_seconds,
        max(case when recency = 1 then run_started_at end) as latest_run_started_at,
        avg(execution_seconds) as average_seconds,
        max(execution_seconds) as slowest_seconds,
        count(*) as runs_counted
    from ranked
    where recency <= {{ recent_runs }}
    group by environment_name, unique_id

),

final as (

    select
        {{ surrogate_key(['environment_name', 'unique_id']) }} as model_timing_sk,
        cast(environment_name as varchar(100)) as environment_name,
        cast(unique_id as varchar(500)) as unique_id,
        cast(model_name as varchar(500)) as model_name,
        cast(latest_seconds as numeric(12, 3)) as latest_seconds,
        cast(average_seconds as numeric(12, 3)) as average_seconds,
        cast(slowest_seconds as numeric(12, 3)) as slowest_seconds,
        cast(runs_counted as integer) as runs_counted,
        cast(latest_run_started_at as timestamp) as latest_run_started_at,
        cast(
            rank() over (partition by environment_name order by latest_seconds desc)
            as integer
        ) as slowness_rank
    from per_model

)

select * from final
