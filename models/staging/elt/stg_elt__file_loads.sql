{#- The loader's manifest: one row per file it has seen, typed, times in UTC. -#}
with

source as (

    select * from {{ source('elt', 'manifest') }}

),

renamed as (

    select
        file_path,
        source_table,
        raw_table,
        status as load_status,
        message as load_message,
        batch_id,
        column_renames,
        cast(size_bytes as bigint) as size_bytes,
        cast(rows_in_file as bigint) as rows_in_file,
        cast(rows_loaded as bigint) as rows_loaded,
        cast(rows_quarantined as bigint) as rows_quarantined,
        {{ to_utc('started_at') }} as load_started_at,
        {{ to_utc('finished_at') }} as load_finished_at,
        {{ to_utc('coalesce(first_loaded_at, finished_at)') }} as first_loaded_at,
        status = 'loaded' as is_loaded,
        status = 'failed' as is_failed,
        -- reloaded (`elt load --reload`): rows replaced after the file's first load
        coalesce(status = 'loaded' and first_loaded_at < finished_at, false) as is_restatement
    from source

)

select * from renamed
