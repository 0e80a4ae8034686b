{#- Incremental runs re-derive whole visitors (SPEC 5.2: stitching, bots and first/last UTM are
    retroactive). Every incremental model keeps a watermark column: the latest raw.events.loaded_at
    it has processed for a visitor. The next run takes what was loaded after it, less the
    `events_lookback_minutes` var, so rows committed late by a concurrent load are still seen;
    re-reading rows inside the lookback is harmless (they are deduplicated). -#}
{#- The watermark is looked up when the model runs and written into its SQL as a literal: the
    planner then sees how few rows lie above it and reads them through the column's index, where
    a subquery would leave it guessing a third of the table. (In unit tests `this` is a CTE of
    the test's rows, so there it stays a subquery.) -#}
{% macro incremental_watermark(column) -%}
    {%- set latest = 'coalesce(max(' ~ column ~ '), ' ~ beacon.timestamp_literal('1900-01-01T00:00:00+00:00') ~ ')' -%}
    {%- if execute and '__dbt__cte__' not in (this | string) -%}
        {%- set found = run_query('select ' ~ beacon.timestamp_iso(latest) ~ ' from ' ~ this) -%}
        {%- set latest = beacon.timestamp_literal(found.rows[0][0]) -%}
    {%- else -%}
        {%- set latest = '(select ' ~ latest ~ ' from ' ~ this ~ ')' -%}
    {%- endif -%}
    {{ dbt.dateadd('minute', -1 * var('events_lookback_minutes'), latest) }}
{%- endmacro %}

{% macro timestamp_literal(value) %}
    {{ return(adapter.dispatch('timestamp_literal', 'beacon')(value)) }}
{% endmacro %}
{% macro postgres__timestamp_literal(value) -%}
    cast('{{ value }}' as timestamp with time zone)
{%- endmacro %}

{% macro type_timestamptz() %}
    {{ return(adapter.dispatch('type_timestamptz', 'beacon')()) }}
{% endmacro %}
{% macro postgres__type_timestamptz() %}timestamp with time zone{% endmacro %}

{#- fct_daily_rollups' post-hook: a day whose every session merged into a session of an earlier
    day (a late event bridged them) has no row in a full build, so it must go. An index lookup
    per day on fct_sessions (project_id, started_date). -#}
{% macro delete_rollup_days_without_sessions() -%}
    delete from {{ this }} as rollups
    where not exists (
        select 1 from {{ ref('fct_sessions') }} as sessions
        where sessions.project_id = rollups.project_id
            and sessions.started_date = rollups.day
    )
{%- endmacro %}
