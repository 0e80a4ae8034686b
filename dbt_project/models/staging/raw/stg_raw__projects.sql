with

source as (

    select * from {{ source('raw', 'projects') }}

),

renamed as (

    select
        project_id,
        name as project_name,
        timezone,
        currency,
        revenue_property,
        retention_days,
        loaded_at

    from source

)

select * from renamed
