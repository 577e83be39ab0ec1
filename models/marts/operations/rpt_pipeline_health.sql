{#-
    How each night's load went, per source table: from the loader's manifest (files, rows,
    quarantine, timings). The freshness lag runs to the next load, or for the latest load
    to the build time (var('pipeline_health_as_of') pins it, for tests and backfills).
-#}
{%- set as_of = var('pipeline_health_as_of', none) -%}
{%- if as_of -%}
{%- set as_of_sql = "cast('" ~ as_of ~ "' as timestamp)" -%}
{%- else -%}
{%- set as_of_sql = to_utc(dbt.current_timestamp()) -%}
{%- endif -%}
{%- set lag_end = 'coalesce(next_load_finished_at, ' ~ as_of_sql ~ ')' -%}

with

file_loads as (

    select * from {{ ref('stg_elt__file_loads') }}

),

freshness_settings as (

    {#- each source's own dbt freshness thresholds (none for a static source) -#}
    {{ loader_source_freshness() }}

),

rejected_rows as (

    select * from {{ ref('rpt_rejected_rows') }}

),

rejects_by_file as (

    select
        source_file,
        count(*) as rows_rejected
    from rejected_rows
    group by source_file

),

daily as (

    select
        file_loads.source_table,
        cast(file_loads.load_finished_at as date) as load_date,
        max(file_loads.raw_table) as raw_table,
        sum(case when file_loads.is_loaded then 1 else 0 end) as files_loaded,
        sum(case when file_loads.is_failed then 1 else 0 end) as files_failed,
        sum(file_loads.rows_in_file) as rows_in_files,
        sum(file_loads.rows_loaded) as rows_loaded,
        sum(file_loads.rows_quarantined) as rows_quarantined,
        sum(coalesce(rejects_by_file.rows_rejected, 0)) as rows_rejected,
        sum(
            {{ seconds_between('file_loads.load_started_at', 'file_loads.load_finished_at') }}
        ) as load_seconds,
        min(file_loads.load_started_at) as first_load_started_at,
        max(file_loads.load_finished_at) as last_load_finished_at
    from file_loads
    left join rejects_by_file
        on file_loads.file_path = rejects_by_file.source_file
    group by file_loads.source_table, cast(file_loads.load_finished_at as date)

),

sequenced as (

    select
        daily.*,
        lag(daily.last_load_finished_at)
            over (partition by daily.source_table order by daily.load_date)
            as previous_load_finished_at,
        lead(daily.last_load_finished_at)
            over (partition by daily.source_table order by daily.load_date)
            as next_load_finished_at
    from daily

),

with_settings as (

    select
        sequenced.*,
        freshness_settings.freshness_warn_hours,
        freshness_settings.freshness_error_hours
    from sequenced
    left join freshness_settings
        on sequenced.source_table = freshness_settings.source_table

),

final as (

    select
        cast({{ surrogate_key(['source_table', 'load_date']) }} as varchar(32))
            as pipeline_health_sk,
        cast(source_table as varchar(100)) as source_table,
        cast(raw_table as varchar(100)) as raw_table,
        cast(load_date as date) as load_date,
        cast(files_loaded as integer) as files_loaded,
        cast(files_failed as integer) as files_failed,
        cast(rows_in_files as bigint) as rows_in_files,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        cast(
            case
                when rows_in_files > 0 then 1.0 * rows_quarantined / rows_in_files else 0
            end as numeric(9, 6)
        ) as quarantine_rate,
        cast(rows_rejected as bigint) as rows_rejected,
        cast(
            case
                when rows_in_files > 0 then 1.0 * rows_rejected / rows_in_files else 0
            end as numeric(9, 6)
        ) as reject_rate,
        cast(load_seconds as numeric(12, 3)) as load_seconds,
        cast(first_load_started_at as timestamp) as first_load_started_at,
        cast(last_load_finished_at as timestamp) as last_load_finished_at,
        {{ hours_between('previous_load_finished_at', 'last_load_finished_at') }}
            as hours_since_previous_load,
        {{ hours_between('last_load_finished_at', lag_end) }} as freshness_lag_hours,
        freshness_warn_hours,
        freshness_error_hours,
        next_load_finished_at is null as is_latest_load,
        cast({{ as_of_sql }} as timestamp) as measured_at
    from with_settings

)

select * from final
