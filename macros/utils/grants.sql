{#-
    Before a run (on-run-start), PostgreSQL only: every relation in the schemas dbt builds
    must belong to the role dbt runs as (or to a role it is a member of). A relation left by
    another role (dbt once run as the superuser, say) would fail every model that replaces
    it with PostgreSQL's bare "must be owner"; this names the relations, their owner and
    the statements that hand them over.
-#}
{% macro check_model_owners() -%}
    {%- if execute and target.type == 'postgres' -%}
        {#- the schemas of what this project builds, from the graph (not a list kept here) -#}
        {%- set schemas = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- set quoted = "'" ~ node.schema ~ "'" -%}
            {%- if node.package_name == project_name and node.resource_type in ('model', 'seed', 'snapshot')
                  and quoted not in schemas -%}
                {%- do schemas.append(quoted) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if schemas | length == 0 -%}
            {{ return('') }}
        {%- endif -%}
        {%- set foreign = run_query(
            "select n.nspname, c.relname, pg_get_userbyid(c.relowner), c.relkind"
            ~ " from pg_class as c join pg_namespace as n on c.relnamespace = n.oid"
            ~ " where n.nspname in (" ~ schemas | join(', ') ~ ") and c.relkind in ('r', 'v', 'm', 'p')"
            ~ " and not pg_has_role(current_user, c.relowner, 'USAGE') order by 1, 2"
        ) -%}
        {%- if foreign | length > 0 -%}
            {%- set kinds = {'r': 'table', 'p': 'table', 'v': 'view', 'm': 'materialized view'} -%}
            {%- set named = [] -%}
            {%- set fixes = [] -%}
            {%- for row in foreign.rows[:5] -%}
                {%- do named.append(row[0] ~ '.' ~ row[1] ~ ' (owner ' ~ row[2] ~ ')') -%}
                {%- do fixes.append('alter ' ~ kinds[row[3]] ~ ' ' ~ row[0] ~ '.' ~ row[1] ~ ' owner to ' ~ target.user ~ ';') -%}
            {%- endfor -%}
            {{ exceptions.raise_compiler_error(
                "dbt runs as " ~ target.user ~ ", but " ~ (foreign | length) ~ " relation(s) it builds belong to another role: "
                ~ named | join(', ') ~ (', ...' if foreign | length > 5 else '')
                ~ ". It could not replace them (PostgreSQL: must be owner). Run dbt as their owner, or hand them over"
                ~ " as an administrator: " ~ fixes | join(' ') ~ (' ...' if foreign | length > 5 else '')
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
