{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'message_id'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['project_id', 'message_id']},
            {'columns': ['anonymous_id', 'project_id']},
            {'columns': ['loaded_at']},
        ],
    )
}}

{#- `identify` events: they link an anonymous id to a user id (and count towards bot volume) but
    never start or extend a session, so fct_events leaves them out. Appended as they arrive.
    The watermark lags when the latest loads held no identify; raw.events' partial index on
    `loaded_at where is_identify` keeps that cheap (identifies are read, not the events). -#}

with

classified_events as (

    select * from {{ ref('int_events_classified') }}

),

identifies as (

    select
        project_id,
        message_id,
        anonymous_id,
        user_id as event_user_id,
        event_at,
        event_date,
        is_bot_agent,
        loaded_at,
        load_id,
        line_number

    from classified_events
    where is_identify
    {% if is_incremental() %}
        and loaded_at > {{ beacon.incremental_watermark('loaded_at') }}
    {% endif %}

),

deduplicated as (

    {{ beacon.first_copy_per_message('identifies', [
        'project_id', 'message_id', 'anonymous_id', 'event_user_id', 'event_at', 'event_date',
        'is_bot_agent', 'loaded_at', 'load_id', 'line_number',
    ]) }}

)

select * from deduplicated
