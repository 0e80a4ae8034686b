{#- numerator / denominator, null when the denominator is 0; 12 decimals, enough for fractions
    such as a click-through rate of a fraction of a percent. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast(cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0) as {{ beacon.type_ratio() }})
{%- endmacro %}

{% macro type_ratio() %}
    {{ return(adapter.dispatch('type_ratio', 'beacon')()) }}
{% endmacro %}
{% macro default__type_ratio() %}numeric(38, 12){% endmacro %}
