{#-
    Tests that follow the new data (docs: test_scope). Generic tests on models that carry
    `source_loaded_at` check, in an incremental build, only the rows of the last
    var('test_recent_loads') runs of `elt load` (from the loader's manifest): the rows the
    build just wrote, and every row loaded since the last published build.
    A `--full-refresh` build, or var('test_all_rows'), tests every row (run it weekly,
    e.g. `dbt test --vars '{test_all_rows: true}'`). dbt_project.yml gives every test the
    `where` `__recent_loads__`; a test's own `where` may keep it
    ("__recent_loads__ and ...") or drop it.

    dbt renders a test's `where` config without the project's macros; this override of
    dbt's get_where_subquery (its documented extension point) runs when the test runs.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where and '__recent_loads__' in where -%}
        {%- set where = where | replace('__recent_loads__', recent_loads_predicate(relation)) -%}
    {%- endif -%}
    {%- if where and where | trim != '1 = 1' -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) as dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}


{#- When the oldest load the build must test started (a timestamp with time zone, from the
    loader's manifest): the last var('test_recent_loads') runs of `elt load`, and every run
    since the last published build (`elt publish` records it in <prefix>publish.published_loads),
    so rows of a build whose tests failed stay under test until they are fixed and published. -#}
{% macro recent_loads_start() -%}
    {%- if not execute -%}
        {{ return('cast(null as ' ~ timestamptz_type() ~ ')') }}
    {%- endif -%}
    {%- set manifest = graph.sources['source.' ~ project_name ~ '.elt.manifest'].relation_name -%}
    {%- set published = adapter.get_relation(
        database=target.database, schema=env_schema_prefix() ~ 'publish', identifier='published_loads') -%}
    {%- set sql -%}
        (select min(started_at) from {{ manifest }} where batch_id in (
            select batch_id from (
                select distinct batch_id from {{ manifest }}
                order by batch_id desc
                limit {{ var('test_recent_loads') }}
            ) as latest
            {%- if published is not none %}
            union all
            select batch_id from {{ manifest }}
            where batch_id > (select coalesce(max(last_batch_id), '') from {{ published }})
            {%- endif %}
        ))
    {%- endset -%}
    {{ return(sql) }}
{%- endmacro %}


{#- `source_loaded_at` of the last var('test_recent_loads') loads, or `1 = 1` for a full test
    (full refresh, var('test_all_rows'), or a relation without the column). -#}
{% macro recent_loads_predicate(relation) -%}
    {%- if testing_all_rows() or not execute -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {%- set name = relation | string -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.relation_name == name
            and 'source_loaded_at' in node.columns -%}
            {{ return('source_loaded_at >= ' ~ to_utc(recent_loads_start())) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('1 = 1') }}
{%- endmacro %}


{#- Whether this invocation tests every row (a --full-refresh build, or var('test_all_rows')). -#}
{% macro testing_all_rows() -%}
    {{ return(flags.FULL_REFRESH or var('test_all_rows', false)) }}
{%- endmacro %}


{#- For singular tests reading staging: rows of the last var('test_recent_loads') loads (their
    `column`, a raw `_loaded_at`), or `1 = 1` when testing all. -#}
{% macro recent_raw_rows(column='loaded_at') -%}
    {%- if testing_all_rows() -%}
        {{ return('1 = 1') }}
    {%- endif -%}
    {{ return(column ~ ' >= ' ~ recent_loads_start()) }}
{%- endmacro %}
