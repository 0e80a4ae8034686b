with

source as (

    select * from {{ source('raw', 'facebook_campaigns') }}

),

renamed as (

    select
        campaign_id,
        ad_account_id,
        name as campaign_name,
        status as campaign_status,
        objective,
        created_time as created_at,
        updated_time as updated_at,
        pulled_at

    from source

)

select * from renamed
