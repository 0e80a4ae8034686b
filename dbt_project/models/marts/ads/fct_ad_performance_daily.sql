with

ads as (

    select * from {{ ref('dim_ads') }}

),

projects as (

    select * from {{ ref('stg_raw__projects') }}

),

insights as (

    select * from {{ ref('stg_raw__facebook_insights') }}

),

sessions as (

    select * from {{ ref('fct_sessions') }}
    where utm_ad_id is not null
        and not is_bot

),

conversions as (

    select * from {{ ref('int_conversions_attributed') }}
    where is_attributed

),

daily_spend as (

    select
        ad_id,
        report_date as day,
        sum(spend) as spend,
        sum(impressions) as impressions,
        sum(clicks) as clicks,
        sum(reach) as reach,
        sum(facebook_conversions) as facebook_conversions

    from insights
    group by ad_id, report_date

),

daily_sessions as (

    select
        project_id,
        utm_ad_id as ad_id,
        started_date as day,
        count(*) as sessions,
        sum(case when is_bounce then 1 else 0 end) as bounces

    from sessions
    group by project_id, utm_ad_id, started_date

),

daily_conversions as (

    select
        project_id,
        ad_id,
        conversion_date as day,
        count(*) as conversions,
        sum(revenue) as revenue

    from conversions
    group by project_id, ad_id, conversion_date

),

ad_days as (

    select ads.project_id, daily_spend.ad_id, daily_spend.day
    from daily_spend
    inner join ads on daily_spend.ad_id = ads.ad_id
    union
    select project_id, ad_id, day from daily_sessions
    union
    select project_id, ad_id, day from daily_conversions

),

joined as (

    select
        ad_days.project_id,
        ad_days.ad_id,
        ads.adset_id,
        ads.campaign_id,
        ads.ad_account_id,
        ad_days.day,
        projects.currency,
        coalesce(daily_spend.spend, 0) as spend,
        coalesce(daily_spend.impressions, 0) as impressions,
        coalesce(daily_spend.clicks, 0) as clicks,
        daily_spend.reach,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.bounces, 0) as bounces,
        coalesce(daily_conversions.conversions, 0) as conversions,
        coalesce(daily_conversions.revenue, 0) as revenue,
        coalesce(daily_spend.facebook_conversions, 0) as facebook_conversions

    from ad_days
    -- Traffic tagged with an ad id Facebook does not know (or of another project's account)
    -- stays in fct_sessions only.
    inner join ads
        on ad_days.project_id = ads.project_id
        and ad_days.ad_id = ads.ad_id
    left join projects
        on ad_days.project_id = projects.project_id
    left join daily_spend
        on ad_days.ad_id = daily_spend.ad_id
        and ad_days.day = daily_spend.day
    left join daily_sessions
        on ad_days.project_id = daily_sessions.project_id
        and ad_days.ad_id = daily_sessions.ad_id
        and ad_days.day = daily_sessions.day
    left join daily_conversions
        on ad_days.project_id = daily_conversions.project_id
        and ad_days.ad_id = daily_conversions.ad_id
        and ad_days.day = daily_conversions.day

),

final as (

    select
        project_id,
        ad_id,
        adset_id,
        campaign_id,
        ad_account_id,
        day,
        currency,
        {{ beacon.ad_performance_measures(with_reach=true) }}

    from joined

)

select * from final
