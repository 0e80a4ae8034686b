with

source as (

    select * from {{ source('raw', 'project_ad_accounts') }}

),

renamed as (

    select
        project_id,
        ad_account_id

    from source

)

select * from renamed
