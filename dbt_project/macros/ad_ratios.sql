{#- SPEC 5.5 ratios of an ad-performance grain, from its additive measures; null where the
    denominator is 0 (or unknown). Shared by the ad, adset and campaign marts. -#}
{% macro ad_ratios(spend='spend', impressions='impressions', clicks='clicks',
                   conversions='conversions', revenue='revenue') -%}
    {{ beacon.safe_divide(clicks, impressions) }} as ctr,
    {{ beacon.safe_divide(spend, clicks) }} as cpc,
    {{ beacon.safe_divide('1000 * ' ~ spend, impressions) }} as cpm,
    {{ beacon.safe_divide(spend, conversions) }} as cpa,
    {{ beacon.safe_divide(revenue, spend) }} as roas
{%- endmacro %}

{#- numerator / denominator, null when the denominator is 0; 12 decimals, enough for fractions
    such as a click-through rate of a fraction of a percent. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast(cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0) as {{ beacon.type_ratio() }})
{%- endmacro %}

{% macro type_ratio() %}
    {{ return(adapter.dispatch('type_ratio', 'beacon')()) }}
{% endmacro %}
{% macro default__type_ratio() %}numeric(38, 12){% endmacro %}
