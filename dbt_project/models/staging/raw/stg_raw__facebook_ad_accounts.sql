with

source as (

    select * from {{ source('raw', 'facebook_ad_accounts') }}

),

renamed as (

    select
        ad_account_id,
        name as ad_account_name,
        currency,
        timezone_name as timezone,
        pulled_at

    from source

)

select * from renamed
