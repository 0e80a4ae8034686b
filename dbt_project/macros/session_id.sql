{#- session_id = md5 of `<project_id>|<anonymous_id>|<first event's epoch milliseconds>`. The `|`
    separators keep it unambiguous ('a' + 'b1' and 'ab' + '1' differ); the epoch milliseconds are
    a plain integer, so it does not depend on time zones or timestamp formatting. -#}
{% macro session_id(project_id, anonymous_id, started_at) -%}
    {{ dbt.hash(dbt.concat([
        project_id, "'|'", anonymous_id, "'|'",
        dbt.cast(beacon.epoch_ms(started_at), dbt.type_string()),
    ])) }}
{%- endmacro %}
