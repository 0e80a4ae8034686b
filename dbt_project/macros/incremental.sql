{#- Incremental runs re-derive whole visitors (SPEC 5.2: stitching, bots and first/last UTM are
    retroactive). Every incremental model keeps a watermark column: the latest raw.events.loaded_at
    it has processed for a visitor. The next run takes what was loaded after it, less the
    `events_lookback_minutes` var, so rows committed late by a concurrent load are still seen;
    re-reading rows inside the lookback is harmless (they are deduplicated). -#}
{% macro incremental_watermark(column) -%}
    (
        select {{ dbt.dateadd('minute', -1 * var('events_lookback_minutes'),
                              'coalesce(max(' ~ column ~ '), ' ~ beacon.timestamp_literal('1900-01-01T00:00:00+00:00') ~ ')') }}
        from {{ this }}
    )
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
