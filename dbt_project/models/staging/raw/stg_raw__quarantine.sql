with

source as (

    select * from {{ source('raw', 'quarantine') }}

),

renamed as (

    select
        quarantine_id,
        load_id,
        source_path,
        line_number,
        reason,
        message,
        project_id,
        raw_text,
        loaded_at

    from source

)

select * from renamed
