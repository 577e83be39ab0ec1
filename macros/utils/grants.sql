{#-
    dbt's `grants` give the analyst role select on each mart; entering the schema needs
    usage too, which dbt does not grant. PostgreSQL only (DuckDB has no roles). The role
    must exist: `elt setup-postgres` creates it. Without it (a PostgreSQL that was never
    set up), nothing is granted and a warning says so.
-#}
{% macro grant_analyst_schema_usage() -%}
    {%- if execute and target.type == 'postgres' -%}
        {%- set role = env_var('ELT_PG_ANALYST_USER', 'elt_analyst') -%}
        {%- set found = run_query("select 1 from pg_roles where rolname = '" ~ role ~ "'") -%}
        {%- if found | length > 0 -%}
            grant usage on schema {{ generate_schema_name('marts', none) }} to {{ adapter.quote(role) }}
        {%- else -%}
            {{ log("warning: PostgreSQL role " ~ role ~ " does not exist (run `elt setup-postgres`); marts are not granted", info=true) }}
            select 1
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
