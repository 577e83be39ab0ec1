{#-
    Elementary records every test's result and sample rows through its `test`
    materialization. dbt 1.8+ ignores a package's override of a built-in materialization
    unless the root project opts in explicitly, which is what this does, and only when the
    optional package is installed (ELT_ELEMENTARY_PACKAGES): otherwise tests run on dbt's own.
-#}
{% materialization test, default %}
    {%- if elementary is defined and elementary.materialize_test is defined -%}
        {% do return(elementary.materialize_test(dbt.materialization_test_default)) %}
    {%- else -%}
        {% do return(dbt.materialization_test_default()) %}
    {%- endif -%}
{% endmaterialization %}
