with

source as (

    select * from {{ source('raw', 'facebook_adsets') }}

),

renamed as (

    select
        adset_id,
        ad_account_id,
        campaign_id,
        name as adset_name,
        status as adset_status,
        created_time as created_at,
        updated_time as updated_at,
        pulled_at

    from source

)

select * from renamed
