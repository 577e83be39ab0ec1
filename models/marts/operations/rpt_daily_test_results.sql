{#-
    The data and unit tests' results each day, per environment: how many ran, passed,
    warned, failed, errored or were skipped, and which failed. A view over the run history.
-#}
{{ config(materialized='view') }}

with

node_runs as (

    select * from {{ ref('rpt_dbt_node_runs') }}
    where is_test

),

daily as (

    select
        environment_name,
        run_date,
        count(*) as tests_run,
        sum(case when node_status = 'pass' then 1 else 0 end) as tests_passed,
        sum(case when node_status = 'warn' then 1 else 0 end) as tests_warned,
        sum(case when node_status = 'fail' then 1 else 0 end) as tests_failed,
        sum(case when node_status = 'error' then 1 else 0 end) as tests_errored,
        sum(case when node_status = 'skipped' then 1 else 0 end) as tests_skipped,
        count(distinct invocation_id) as invocations,
        {{ sorted_text_list('case when is_failed then node_name end') }} as failing_tests
    from node_runs
    group by environment_name, run_date

),

final as (

    select
        {{ surrogate_key(['environment_name', 'run_date']) }} as daily_test_result_sk,
        cast(environment_name as varchar(100)) as environment_name,
        cast(run_date as date) as run_date,
        cast(invocations as integer) as invocations,
        cast(tests_run as integer) as tests_run,
        cast(tests_passed as integer) as tests_passed,
        cast(tests_warned as integer) as tests_warned,
        cast(tests_failed as integer) as tests_failed,
        cast(tests_errored as integer) as tests_errored,
        cast(tests_skipped as integer) as tests_skipped,
        cast(
            case when tests_run > 0 then 1.0 * tests_passed / tests_run end as numeric(9, 6)
        ) as pass_rate,
        cast(failing_tests as {{ text_type() }}) as failing_tests
    from daily

)

select * from final
