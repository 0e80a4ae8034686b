{#- Planner guidance for models whose intermediate results are CTEs without statistics: the
    PostgreSQL planner then guesses a handful of rows and may choose nested loops over scans of
    hundreds of thousands of rows. Hash and merge joins are safe at any size here. `set local`
    lasts for the model's own transaction only. A pre_hook, so other engines can return ''. -#}
{% macro avoid_nested_loops() %}
    {{ return(adapter.dispatch('avoid_nested_loops', 'beacon')()) }}
{% endmacro %}
{% macro postgres__avoid_nested_loops() %}set local enable_nestloop = off{% endmacro %}
{% macro default__avoid_nested_loops() %}{% endmacro %}

{#- Fresh statistics for a table just built, so the models reading it next get good plans (a
    table dbt has just created has none until autovacuum gets to it). Views are skipped. -#}
{% macro analyze_table() %}
    {%- if model.config.materialized in ('table', 'incremental', 'seed') or model.resource_type == 'seed' -%}
        {{ return(adapter.dispatch('analyze_table', 'beacon')(this)) }}
    {%- endif -%}
{% endmacro %}
{% macro postgres__analyze_table(relation) %}analyze {{ relation }}{% endmacro %}
{% macro default__analyze_table(relation) %}{% endmacro %}


{#- on-run-start: fresh statistics for raw.events when rows were loaded (or deleted) since it
    was last analyzed, before any model plans a query on it (the loaders leave that to the build
    that reads the rows: several loads may come before it). A sample, so a second or so. -#}
{% macro analyze_changed_raw_events() %}
    {{ return(adapter.dispatch('analyze_changed_raw_events', 'beacon')()) }}
{% endmacro %}
{% macro postgres__analyze_changed_raw_events() -%}
do $$
begin
    if exists (
        select 1 from pg_stat_user_tables
        where schemaname = 'raw' and relname = 'events' and n_mod_since_analyze > 0
    ) then
        analyze raw.events;
    end if;
end
$$
{%- endmacro %}
{% macro default__analyze_changed_raw_events() %}{% endmacro %}
