{#- Models land in schemas named exactly `staging`, `intermediate`, `marts` (and seeds in `seeds`),
    not dbt's default `<target schema>_<custom schema>`: analysts, grants and Dagster asset keys
    rely on these names. A node without a custom schema goes to the profile's schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
