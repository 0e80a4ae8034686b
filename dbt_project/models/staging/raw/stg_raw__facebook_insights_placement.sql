{%- set conversion_types = var('facebook_conversion_action_types') -%}
with

source as (

    select * from {{ source('raw', 'facebook_insights_placement') }}

),

renamed as (

    select
        ad_account_id,
        ad_id,
        adset_id,
        campaign_id,
        date_start as report_date,
        publisher_platform,
        platform_position,
        spend,
        impressions,
        clicks,
        reach,
        {{ beacon.sum_facebook_actions('actions', conversion_types) }} as facebook_conversions,
        {{ beacon.sum_facebook_actions('action_values', conversion_types) }} as facebook_conversion_value,
        account_currency as currency,
        attribution_windows,
        source as pulled_from,
        pulled_at

    from source

)

select * from renamed
