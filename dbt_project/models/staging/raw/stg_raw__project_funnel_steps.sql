with

source as (

    select * from {{ source('raw', 'project_funnel_steps') }}

),

renamed as (

    select
        project_id,
        funnel_name,
        step_number,
        step_event,
        conversion_window_days

    from source

)

select * from renamed
