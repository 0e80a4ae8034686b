with

ads as (

    select * from {{ ref('stg_raw__facebook_ads') }}

),

adsets as (

    select * from {{ ref('stg_raw__facebook_adsets') }}

),

campaigns as (

    select * from {{ ref('stg_raw__facebook_campaigns') }}

),

insights as (

    select * from {{ ref('stg_raw__facebook_insights') }}

),

placement_insights as (

    select * from {{ ref('stg_raw__facebook_insights_placement') }}

),

ad_accounts as (

    select * from {{ ref('stg_raw__project_ad_accounts') }}

),

-- Ads from the ads edge, and ads only seen in insights (deleted or archived since).
insight_ads as (

    select
        ad_id,
        max(ad_account_id) as ad_account_id,
        {{ beacon.last_by('ad_name', 'report_date') }} as ad_name,
        {{ beacon.last_by('adset_id', 'report_date') }} as adset_id,
        {{ beacon.last_by('adset_name', 'report_date') }} as adset_name,
        {{ beacon.last_by('campaign_id', 'report_date') }} as campaign_id,
        {{ beacon.last_by('campaign_name', 'report_date') }} as campaign_name,
        min(report_date) as first_report_date,
        max(report_date) as last_report_date

    from insights
    group by ad_id

),

ad_placements as (

    select
        ad_id,
        {{ dbt.listagg("publisher_platform || ':' || platform_position", "', '",
                       "order by publisher_platform || ':' || platform_position") }} as placements

    from (
        select distinct ad_id, publisher_platform, platform_position
        from placement_insights
    ) as distinct_placements
    group by ad_id

),

all_ad_ids as (

    select ad_id from ads
    union
    select ad_id from insight_ads

),

final as (

    select
        ad_accounts.project_id,
        all_ad_ids.ad_id,
        coalesce(ads.ad_account_id, insight_ads.ad_account_id) as ad_account_id,
        'facebook' as platform,
        coalesce(ads.ad_name, insight_ads.ad_name) as ad_name,
        ads.ad_status,
        coalesce(ads.adset_id, insight_ads.adset_id) as adset_id,
        coalesce(adsets.adset_name, insight_ads.adset_name) as adset_name,
        adsets.adset_status,
        coalesce(ads.campaign_id, adsets.campaign_id, insight_ads.campaign_id) as campaign_id,
        coalesce(campaigns.campaign_name, insight_ads.campaign_name) as campaign_name,
        campaigns.campaign_status,
        campaigns.objective as campaign_objective,
        ads.url_tags,
        ad_placements.placements,
        insight_ads.first_report_date,
        insight_ads.last_report_date,
        ads.created_at,
        ads.updated_at

    from all_ad_ids
    left join ads
        on all_ad_ids.ad_id = ads.ad_id
    left join insight_ads
        on all_ad_ids.ad_id = insight_ads.ad_id
    left join adsets
        on coalesce(ads.adset_id, insight_ads.adset_id) = adsets.adset_id
    left join campaigns
        on coalesce(ads.campaign_id, adsets.campaign_id, insight_ads.campaign_id) = campaigns.campaign_id
    left join ad_placements
        on all_ad_ids.ad_id = ad_placements.ad_id
    -- Only ads of accounts a project claims: their spend has a project and a currency.
    inner join ad_accounts
        on coalesce(ads.ad_account_id, insight_ads.ad_account_id) = ad_accounts.ad_account_id

)

select * from final
