{#- numerator / denominator as a ratio of 12 decimals (enough for a click-through rate of a
    fraction of a percent); null when the denominator is 0, and null when the ratio is too
    large for the type (10^26 or more: a data error, such as a revenue in the wrong unit over a
    cent of spend), rather than failing the build. -#}
{% macro safe_divide(numerator, denominator) -%}
    {%- set quotient = 'cast(' ~ numerator ~ ' as ' ~ beacon.type_decimal() ~ ') / nullif(' ~ denominator ~ ', 0)' -%}
    cast(case when abs({{ quotient }}) < {{ beacon.ratio_limit() }} then {{ quotient }} end
        as {{ beacon.type_ratio() }})
{%- endmacro %}

{% macro type_ratio() %}
    {{ return(adapter.dispatch('type_ratio', 'beacon')()) }}
{% endmacro %}
{% macro default__type_ratio() %}numeric(38, 12){% endmacro %}

{#- The largest magnitude type_ratio holds, less one so that rounding to 12 decimals stays in. -#}
{% macro ratio_limit() %}
    {{ return(adapter.dispatch('ratio_limit', 'beacon')()) }}
{% endmacro %}
{% macro default__ratio_limit() %}(1e26 - 1){% endmacro %}
