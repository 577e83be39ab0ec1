{#-
    Every node of every recorded dbt invocation: its status, seconds, rows and failures,
    with the run it belonged to. A view over the run history.
-#}
{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('stg_elt__runs') }}

),

nodes as (

    select * from {{ ref('stg_elt__run_nodes') }}

),

joined as (

    select
        nodes.*,
        runs.environment_name,
        runs.run_command,
        runs.run_started_at,
        runs.git_commit,
        row_number() over (
            partition by runs.environment_name, nodes.unique_id
            order by runs.run_started_at desc, nodes.invocation_id desc
        ) as recency
    from nodes
    inner join runs
        on nodes.invocation_id = runs.invocation_id

),

final as (

    select
        {{ surrogate_key(['invocation_id', 'unique_id']) }} as node_run_sk,
        cast(invocation_id as varchar(100)) as invocation_id,
        cast(unique_id as varchar(500)) as unique_id,
        cast(environment_name as varchar(100)) as environment_name,
        cast(run_command as varchar(30)) as run_command,
        cast(git_commit as varchar(100)) as git_commit,
        cast(run_started_at as timestamp) as run_started_at,
        cast(run_started_at as date) as run_date,
        cast(resource_type as varchar(30)) as resource_type,
        cast(node_name as varchar(500)) as node_name,
        cast(node_status as varchar(30)) as node_status,
        cast(execution_seconds as numeric(12, 3)) as execution_seconds,
        cast(rows_affected as bigint) as rows_affected,
        cast(failures as bigint) as failures,
        cast(node_message as {{ text_type() }}) as node_message,
        cast(node_started_at as timestamp) as node_started_at,
        is_test,
        node_status in ('fail', 'error') as is_failed,
        recency = 1 as is_latest_run
    from joined

)

select * from final
