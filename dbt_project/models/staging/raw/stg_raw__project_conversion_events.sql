with

source as (

    select * from {{ source('raw', 'project_conversion_events') }}

),

renamed as (

    select
        project_id,
        event_name

    from source

)

select * from renamed
