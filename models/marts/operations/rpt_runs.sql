{#-
    Every recorded run, a load or a dbt invocation, with what it did and what failed: for a
    load, the files whose latest state it wrote (from the loader's manifest); for a dbt
    invocation, its nodes. A view over the run history.
-#}
{{ config(materialized='view') }}

with

runs as (

    select * from {{ ref('stg_elt__runs') }}

),

node_runs as (

    select * from {{ ref('rpt_dbt_node_runs') }}

),

file_loads as (

    select * from {{ ref('stg_elt__file_loads') }}

),

nodes_per_run as (

    select
        invocation_id,
        count(*) as nodes,
        sum(case when is_failed then 1 else 0 end) as failed_nodes,
        sum(case when node_status = 'warn' then 1 else 0 end) as warned_nodes,
        sum(case when node_status = 'skipped' then 1 else 0 end) as skipped_nodes,
        {{ sorted_text_list('case when is_failed then node_name end') }} as failed_names
    from node_runs
    group by invocation_id

),

files_per_load as (

    select
        batch_id as invocation_id,
        0 as skipped_nodes,
        count(*) as nodes,
        sum(case when is_failed then 1 else 0 end) as failed_nodes,
        sum(case when rows_quarantined > 0 then 1 else 0 end) as warned_nodes,
        {{ sorted_text_list('case when is_failed then file_path end') }} as failed_names,
        sum(rows_loaded) as rows_loaded
    from file_loads
    group by batch_id

),

final as (

    select
        cast(runs.invocation_id as varchar(100)) as invocation_id,
        cast(runs.run_command as varchar(30)) as run_command,
        cast(runs.environment_name as varchar(100)) as environment_name,
        cast(runs.target_name as varchar(100)) as target_name,
        cast(runs.git_commit as varchar(100)) as git_commit,
        cast(runs.orchestrator_run_id as varchar(250)) as orchestrator_run_id,
        cast(runs.run_status as varchar(10)) as run_status,
        cast(runs.exit_code as integer) as exit_code,
        cast(runs.run_started_at as timestamp) as run_started_at,
        cast(runs.run_finished_at as timestamp) as run_finished_at,
        cast(runs.run_started_at as date) as run_date,
        cast(runs.run_seconds as numeric(12, 3)) as run_seconds,
        cast(coalesce(nodes_per_run.nodes, files_per_load.nodes, 0) as integer) as items,
        cast(
            coalesce(nodes_per_run.failed_nodes, files_per_load.failed_nodes, 0) as integer
        ) as failed_items,
        cast(
            coalesce(nodes_per_run.warned_nodes, files_per_load.warned_nodes, 0) as integer
        ) as warned_items,
        cast(
            coalesce(nodes_per_run.skipped_nodes, files_per_load.skipped_nodes, 0) as integer
        ) as skipped_items,
        cast(
            coalesce(nodes_per_run.failed_names, files_per_load.failed_names)
            as {{ text_type() }}
        ) as failed_item_names,
        cast(files_per_load.rows_loaded as bigint) as rows_loaded,
        runs.is_load,
        row_number() over (
            partition by runs.environment_name, runs.is_load
            order by runs.run_started_at desc, runs.invocation_id desc
        ) = 1 as is_latest
    from runs
    left join nodes_per_run
        on runs.invocation_id = nodes_per_run.invocation_id
    left join files_per_load
        on runs.invocation_id = files_per_load.invocation_id

)

select * from final
