{#- numerator / denominator as a ratio of 12 decimals (enough for a click-through rate of a
    fraction of a percent); null when the denominator is 0, and null when the ratio is too
    large for the type (10^26 or more: a data error, such as a revenue in the wrong unit over a
    cent of spend), rather than failing the build. -#}
{% macro safe_divide(numerator, denominator) -%}
    {%- set digits = beacon.ratio_digits() -%}
    {%- set quotient = 'cast(' ~ numerator ~ ' as ' ~ beacon.type_decimal() ~ ') / nullif(' ~ denominator ~ ', 0)' -%}
    {#- The largest magnitude the type holds, less one so that rounding to the scale stays in. -#}
    cast(case when abs({{ quotient }}) < (1e{{ digits.precision - digits.scale }} - 1) then {{ quotient }} end
        as numeric({{ digits.precision }}, {{ digits.scale }}))
{%- endmacro %}

{% macro ratio_digits() %}
    {{ return({'precision': 38, 'scale': 12}) }}
{% endmacro %}
