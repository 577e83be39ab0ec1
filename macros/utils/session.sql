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
    so a table just rebuilt or grown by an incremental run was planned on stale or default
    estimates, off by orders of magnitude, by the next model and by analysts' queries.
    Views have no statistics of their own; DuckDB keeps its statistics as it writes.
-#}
{% macro analyze_table() -%}
    {%- if target.type == 'postgres' and config.get('materialized') in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
