{#-
    Per-model session settings (a pre-hook of every model), PostgreSQL only:
    - work_mem: the default 4 MB makes hash aggregates over raw tables spill, and parallel
      ones spill pathologically (minutes instead of seconds at scale 1); each model's
      session gets var('postgres_work_mem');
    - waiting for a running `elt load`: the loader holds an advisory lock named ELT_LOAD for
      its whole run (elt/loader/postgres_target.py, LOCK_KEY: the same 8 bytes); a model
      takes it shared for its transaction, so it never reads a load half done (its
      watermark would then skip the rest). DuckDB needs neither: one writer at a time.
-#}
{% macro session_settings() -%}
    {%- if target.type == 'postgres' -%}
        set work_mem = '{{ var("postgres_work_mem") }}';
        select pg_advisory_xact_lock_shared(
            cast(cast('x' || encode(convert_to('ELT_LOAD', 'UTF8'), 'hex') as bit(64)) as bigint)
        )
    {%- endif -%}
{%- endmacro %}

{#-
    Fresh planner statistics for a model's table (a post-hook of the intermediate models and
    the marts), PostgreSQL only: autovacuum analyzes a table only after enough of it changed,
    and only when it wakes, so a table just built was planned on default estimates, off by
    orders of magnitude, by the next model and by analysts' queries.
    Analyzed when at least var('postgres_analyze_share') (10%) of its rows changed since its
    last statistics, this run's writes included (a first build, a full refresh, a rebuilt
    table): a night that adds 1% to a large fact does not pay a 0.5 s sample of it every
    time. Its new rows lie past the histogram's end, where the planner reads the actual
    bound from the index on `source_loaded_at` (or `order_id`), so the filter of the next
    night is still estimated from the data.
    Views have no statistics of their own; DuckDB keeps its statistics as it writes.
-#}
{% macro analyze_table() -%}
    {%- if target.type == 'postgres' and config.get('materialized') in ('table', 'incremental') -%}
        {%- set relation = this.include(database=false) -%}
        do $analyze$
        declare
            table_oid oid := to_regclass('{{ relation }}');
        begin
            if pg_stat_get_mod_since_analyze(table_oid)
                + pg_stat_get_xact_tuples_inserted(table_oid)
                + pg_stat_get_xact_tuples_updated(table_oid)
                + pg_stat_get_xact_tuples_deleted(table_oid)
                >= {{ var('postgres_analyze_share') }} * greatest(pg_stat_get_live_tuples(table_oid), 1)
            then
                analyze {{ relation }};
            end if;
        end
        $analyze$
    {%- endif -%}
{%- endmacro %}
