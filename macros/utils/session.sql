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
