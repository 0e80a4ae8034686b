with

source as (

    select * from {{ source('raw', 'facebook_ads') }}

),

renamed as (

    select
        ad_id,
        ad_account_id,
        campaign_id,
        adset_id,
        name as ad_name,
        status as ad_status,
        url_tags,
        created_time as created_at,
        updated_time as updated_at,
        pulled_at

    from source

)

select * from renamed
