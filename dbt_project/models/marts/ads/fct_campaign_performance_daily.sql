{#- The campaign level: additive measures summed over its ads, ratios recomputed; reach is not
    additive (people overlap across ads) and is left out. -#}

with

ad_performance as (

    select * from {{ ref('fct_ad_performance_daily') }}

),

summed as (

    select
        project_id, campaign_id,
        day,
        max(currency) as currency,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(sessions) as sessions,
        sum(bounces) as bounces,
        sum(conversions) as conversions,
        sum(revenue) as revenue,
        sum(facebook_conversions) as facebook_conversions

    from ad_performance
    where campaign_id is not null
    group by project_id, campaign_id, day

),

final as (

    select
        project_id, campaign_id,
        day,
        currency,
        cast(spend as {{ dbt.type_numeric() }}) as spend,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        {{ beacon.ad_ratios() }},
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(bounces as {{ dbt.type_bigint() }}) as bounces,
        cast(conversions as {{ dbt.type_bigint() }}) as conversions,
        cast(revenue as {{ dbt.type_numeric() }}) as revenue,
        cast(facebook_conversions as {{ dbt.type_numeric() }}) as facebook_conversions

    from summed

)

select * from final
