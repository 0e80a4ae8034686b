{#- What dbt's own cross-database macros (dbt.dateadd, dbt.split_part, dbt.hash, dbt.type_*...)
    do not cover, behind adapter.dispatch: an engine other than PostgreSQL adds its
    `<adapter>__<macro>` next to these. -#}

{#- Milliseconds since the Unix epoch, independent of the session time zone. -#}
{% macro epoch_ms(timestamp) %}
    {{ return(adapter.dispatch('epoch_ms', 'beacon')(timestamp)) }}
{% endmacro %}
{% macro postgres__epoch_ms(timestamp) -%}
    cast(floor(extract(epoch from {{ timestamp }}) * 1000) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The calendar date of a UTC timestamp in an IANA time zone (a column or a literal). -#}
{% macro local_date(timestamp, timezone) %}
    {{ return(adapter.dispatch('local_date', 'beacon')(timestamp, timezone)) }}
{% endmacro %}
{% macro postgres__local_date(timestamp, timezone) -%}
    cast(({{ timestamp }} at time zone {{ timezone }}) as date)
{%- endmacro %}

{#- Case-insensitive regular-expression match (POSIX syntax in the seeds). -#}
{% macro regexp_matches(value, pattern) %}
    {{ return(adapter.dispatch('regexp_matches', 'beacon')(value, pattern)) }}
{% endmacro %}
{% macro postgres__regexp_matches(value, pattern) -%}
    ({{ value }} ~* {{ pattern }})
{%- endmacro %}

{#- `value` with every case-insensitive match of `pattern` (POSIX syntax) replaced by
    `replacement`; null when the pattern is null. -#}
{% macro regexp_replace_all(value, pattern, replacement) %}
    {{ return(adapter.dispatch('regexp_replace_all', 'beacon')(value, pattern, replacement)) }}
{% endmacro %}
{% macro postgres__regexp_replace_all(value, pattern, replacement) -%}
    regexp_replace({{ value }}, {{ pattern }}, {{ replacement }}, 'gi')
{%- endmacro %}

{#- The value of the first (or last) row of a group by an ordering, optionally among the rows
    where `condition` holds; null when no row qualifies. An aggregate. -#}
{% macro first_by(value, order_by, condition=none) %}
    {{ return(adapter.dispatch('first_by', 'beacon')(value, order_by, condition)) }}
{% endmacro %}
{% macro postgres__first_by(value, order_by, condition) -%}
    (array_agg({{ value }} order by {{ order_by }}){% if condition %} filter (where {{ condition }}){% endif %})[1]
{%- endmacro %}

{% macro last_by(value, order_by, condition=none) %}
    {{ return(adapter.dispatch('last_by', 'beacon')(value, order_by, condition)) }}
{% endmacro %}
{#- The last element of the ascending array, not the first of a descending one: every
    first_by and last_by of a group then share one ordering, and PostgreSQL 16+ sorts the
    group's rows once for all of them (a descending one would sort each group again). -#}
{% macro postgres__last_by(value, order_by, condition) -%}
    {%- set qualifying = ' filter (where ' ~ condition ~ ')' if condition else '' -%}
    (array_agg({{ value }} order by {{ order_by }}){{ qualifying }})[count(*){{ qualifying }}]
{%- endmacro %}
{% macro default__last_by(value, order_by, condition) %}
    {%- set descending = [] -%}
    {%- for term in order_by.split(',') -%}
        {%- do descending.append(term.strip() ~ ' desc') -%}
    {%- endfor -%}
    {{ return(beacon.first_by(value, descending | join(', '), condition)) }}
{% endmacro %}

{#- The continuous percentile of an expression over a group (an aggregate). -#}
{% macro percentile_cont(fraction, expression) %}
    {{ return(adapter.dispatch('percentile_cont', 'beacon')(fraction, expression)) }}
{% endmacro %}
{% macro postgres__percentile_cont(fraction, expression) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{#- The numeric value of the field `key` (a text expression) of a JSON object: a JSON number, or a
    string holding a plain decimal number (optional sign, digits with an optional point, an
    optional exponent of at most three digits, surrounding white space allowed; at most 100
    characters; the loader also takes longer exponents), null for anything else (missing, null, a
    boolean, other text, an object). Never raises, whatever the event sent. -#}
{% macro json_number(json, key) %}
    {{ return(adapter.dispatch('json_number', 'beacon')(json, key)) }}
{% endmacro %}
{% macro postgres__json_number(json, key) -%}
    case jsonb_typeof({{ json }} -> {{ key }})
        when 'number' then cast({{ json }} -> {{ key }} as numeric)
        when 'string' then
            case
                when length({{ json }} ->> {{ key }}) <= 100
                    and ({{ json }} ->> {{ key }})
                        ~ '^[[:space:]]*[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?[[:space:]]*$'
                    then cast({{ json }} ->> {{ key }} as numeric)
            end
    end
{%- endmacro %}

{#- An exact decimal without precision or scale: revenue as events send it. (dbt.type_numeric()
    is numeric(28,6) on PostgreSQL, which a revenue of 10^22 or more overflows.) -#}
{% macro type_decimal() %}
    {{ return(adapter.dispatch('type_decimal', 'beacon')()) }}
{% endmacro %}
{% macro postgres__type_decimal() %}numeric{% endmacro %}

{#- JSON types and builders. -#}
{% macro type_json() %}
    {{ return(adapter.dispatch('type_json', 'beacon')()) }}
{% endmacro %}
{% macro postgres__type_json() %}jsonb{% endmacro %}

{#- A JSON object from alternating key literals and value expressions. -#}
{% macro json_object(pairs) %}
    {{ return(adapter.dispatch('json_object', 'beacon')(pairs)) }}
{% endmacro %}
{% macro postgres__json_object(pairs) -%}
    jsonb_build_object(
        {%- for key, value in pairs %}'{{ key }}', {{ value }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{#- An aggregate: the top `n` values of a group as [{"value": v, "count": c}, ...], by count
    descending then value ascending; `rank_column` must already rank them (1 = top). An empty
    group gives []. -#}
{% macro json_top_values(value, count, rank_column, n) %}
    {{ return(adapter.dispatch('json_top_values', 'beacon')(value, count, rank_column, n)) }}
{% endmacro %}
{% macro postgres__json_top_values(value, count, rank_column, n) -%}
    coalesce(
        jsonb_agg(jsonb_build_object('value', {{ value }}, 'count', {{ count }}) order by {{ rank_column }})
            filter (where {{ rank_column }} <= {{ n }}),
        '[]'::jsonb
    )
{%- endmacro %}

{#- The sum of the `value`s of a Facebook `actions` array whose `action_type` is listed. -#}
{% macro sum_facebook_actions(actions, action_types) %}
    {{ return(adapter.dispatch('sum_facebook_actions', 'beacon')(actions, action_types)) }}
{% endmacro %}
{% macro postgres__sum_facebook_actions(actions, action_types) -%}
    coalesce((
        select sum(cast(action ->> 'value' as numeric))
        from jsonb_array_elements(
            case when jsonb_typeof({{ actions }}) = 'array' then {{ actions }} else '[]'::jsonb end
        ) as action
        where action ->> 'action_type' in (
            {%- for action_type in action_types %}'{{ action_type }}'{% if not loop.last %}, {% endif %}{% endfor -%}
        )
    ), 0)
{%- endmacro %}

{#- A quoted SQL list of string literals, for `in (...)`. -#}
{% macro string_list(values) -%}
    {%- for value in values %}'{{ value | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}

{#- SPEC 4 clock-skew correction: when the client's time, its sent_at and the server's received_at
    are all known, the event happened `sent_at - client time` before it was received. -#}
{% macro skew_corrected_time(event_at, client_event_at, sent_at, received_at) %}
    {{ return(adapter.dispatch('skew_corrected_time', 'beacon')(event_at, client_event_at, sent_at, received_at)) }}
{% endmacro %}
{% macro postgres__skew_corrected_time(event_at, client_event_at, sent_at, received_at) -%}
    case
        when {{ client_event_at }} is not null and {{ sent_at }} is not null and {{ received_at }} is not null
            then {{ received_at }} - ({{ sent_at }} - {{ client_event_at }})
        else {{ event_at }}
    end
{%- endmacro %}

{% macro empty_json_array() %}
    {{ return(adapter.dispatch('empty_json_array', 'beacon')()) }}
{% endmacro %}
{% macro postgres__empty_json_array() %}cast('[]' as jsonb){% endmacro %}
