{#- The ad-performance marts (SPEC 5.5): fct_ad_performance_daily per ad and day, and its
    rollups to the ad set and the campaign, which sum the additive measures and recompute the
    ratios from the sums. The measures, their types and the ratios are defined here once. -#}

{#- The measures that add up across ads (reach does not: people overlap across ads). -#}
{% macro ad_additive_measures() %}
    {{ return(['spend', 'impressions', 'clicks', 'sessions', 'bounces', 'conversions', 'revenue',
               'facebook_conversions']) }}
{% endmacro %}

{#- The measure columns of an ad-performance grain, typed, ratios included, from a relation
    holding the additive measures (and reach, at the ad level: `with_reach`). -#}
{% macro ad_performance_measures(with_reach=false) -%}
        cast(spend as {{ dbt.type_numeric() }}) as spend,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        {%- if with_reach %}
        cast(reach as {{ dbt.type_bigint() }}) as reach,
        {%- endif %}
        {{ beacon.ad_ratios() }},
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(bounces as {{ dbt.type_bigint() }}) as bounces,
        cast(conversions as {{ dbt.type_bigint() }}) as conversions,
        cast(revenue as {{ beacon.type_decimal() }}) as revenue,
        cast(facebook_conversions as {{ dbt.type_numeric() }}) as facebook_conversions
{%- endmacro %}

{#- SPEC 5.5 ratios from the additive measures; null where the denominator is 0 (or unknown). -#}
{% macro ad_ratios(spend='spend', impressions='impressions', clicks='clicks',
                   conversions='conversions', revenue='revenue') -%}
        {{ beacon.safe_divide(clicks, impressions) }} as ctr,
        {{ beacon.safe_divide(spend, clicks) }} as cpc,
        {{ beacon.safe_divide('1000 * ' ~ spend, impressions) }} as cpm,
        {{ beacon.safe_divide(spend, conversions) }} as cpa,
        {{ beacon.safe_divide(revenue, spend) }} as roas
{%- endmacro %}

{#- The whole model of a rollup level: `ad_performance` (fct_ad_performance_daily) summed per
    project, `level_columns` and day, leaving out the rows without the level's id (the first of
    `level_columns`; the others, such as an ad set's campaign, come along with it). -#}
{% macro ad_performance_rollup(ad_performance, level_columns) -%}
{%- set grain = ['project_id'] + level_columns + ['day'] -%}
with

ad_performance as (

    select * from {{ ad_performance }}

),

summed as (

    select
        {{ grain | join(', ') }},
        max(currency) as currency,
        {%- for measure in beacon.ad_additive_measures() %}
        sum({{ measure }}) as {{ measure }}{% if not loop.last %},{% endif %}
        {%- endfor %}

    from ad_performance
    where {{ level_columns[0] }} is not null
    group by {{ grain | join(', ') }}

),

final as (

    select
        {{ grain | join(', ') }},
        currency,
        {{ beacon.ad_performance_measures() }}

    from summed

)

select * from final
{%- endmacro %}
