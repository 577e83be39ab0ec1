{#-
    Schema names follow the environment (ELT_ENV; elt/environment.py is the Python twin,
    checked against this macro by a test):
      prod  plain names: staging, intermediate, marts, reference, snapshots;
      dev   prefixed per user:  dev_<ELT_DEV_USER or the login name>_marts, ...
            (USER, LOGNAME or USERNAME, else the home folder's name);
      ci    prefixed per run:   ci_<ELT_CI_RUN_ID>_marts, ... (the run id is required).
    Analysts never read these: `elt publish` copies an audited build's marts into the
    published schema (<prefix>analytics). The optional elementary package's models go to
    `<prefix>elementary` (set here rather than in dbt_project.yml, where the config would
    warn whenever the package is not installed). Models without a custom schema land in
    the target's schema.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is not none -%}
        {{ env_schema_prefix() }}{{ custom_schema_name | trim }}
    {%- elif node is not none and node.package_name == 'elementary' -%}
        {{ env_schema_prefix() }}elementary
    {%- else -%}
        {{ target.schema }}
    {%- endif -%}
{%- endmacro %}

{% macro env_schema_prefix() -%}
    {%- set environment = env_var('ELT_ENV', 'dev') | trim | lower -%}
    {%- if environment == 'prod' -%}
        {{ return('') }}
    {%- elif environment == 'dev' -%}
        {#- the login name as elt/environment.py's login_name reads it -#}
        {%- set owner = env_var('ELT_DEV_USER', '') or env_var('USER', '') or env_var('LOGNAME', '')
            or env_var('USERNAME', '') or (env_var('HOME', '') | trim('/')).split('/') | last -%}
        {%- set label = 'ELT_DEV_USER (or USER)' -%}
    {%- elif environment == 'ci' -%}
        {%- set owner = env_var('ELT_CI_RUN_ID', '') -%}
        {%- set label = 'ELT_CI_RUN_ID' -%}
    {%- else -%}
        {{ exceptions.raise_compiler_error("ELT_ENV is " ~ environment ~ "; it must be dev, ci or prod") }}
    {%- endif -%}
    {%- set slug = modules.re.sub('[^a-z0-9]+', '_', owner | lower) | trim('_') -%}
    {%- if slug == '' -%}
        {{ exceptions.raise_compiler_error("ELT_ENV=" ~ environment ~ " needs " ~ label ~ " to name its schemas") }}
    {%- endif -%}
    {{ return(environment ~ '_' ~ slug[:24] ~ '_') }}
{%- endmacro %}
