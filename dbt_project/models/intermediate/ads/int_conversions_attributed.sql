{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['anonymous_id', 'project_id']},
            {'columns': ['visitor_loaded_at']},
        ],
    )
}}

{#- One row per conversion event with its attribution (SPEC 5.5): credited to the most recent
    non-bot session of the same visitor that landed with a utm_ad_id and started at or before the
    conversion, at most `attribution_window_days` before it (inclusive); otherwise unattributed. -#}

with

conversions as (

    select * from {{ ref('fct_events') }}
    where is_conversion
    {% if is_incremental() %}
        and visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

ad_sessions as (

    select * from {{ ref('fct_sessions') }}
    where utm_ad_id is not null
        and not is_bot
    {% if is_incremental() %}
        and visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

candidate_sessions as (

    select
        conversions.project_id,
        conversions.message_id,
        conversions.anonymous_id,
        conversions.user_id,
        conversions.session_id,
        conversions.event_name,
        conversions.event_at as converted_at,
        conversions.event_date as conversion_date,
        coalesce(conversions.revenue, 0) as revenue,
        conversions.is_bot,
        conversions.visitor_loaded_at,
        ad_sessions.session_id as attributed_session_id,
        ad_sessions.started_at as attributed_session_started_at,
        ad_sessions.utm_ad_id as ad_id,
        row_number() over (
            partition by conversions.project_id, conversions.message_id
            order by ad_sessions.started_at desc, ad_sessions.session_id
        ) as recency_rank

    from conversions
    left join ad_sessions
        on conversions.project_id = ad_sessions.project_id
        and conversions.anonymous_id = ad_sessions.anonymous_id
        and ad_sessions.started_at <= conversions.event_at
        and conversions.event_at <= {{ dbt.dateadd('day', var('attribution_window_days'), 'ad_sessions.started_at') }}

),

final as (

    select
        project_id,
        message_id,
        anonymous_id,
        user_id,
        session_id,
        event_name,
        converted_at,
        conversion_date,
        revenue,
        is_bot,
        attributed_session_id is not null as is_attributed,
        attributed_session_id,
        attributed_session_started_at,
        ad_id,
        visitor_loaded_at

    from candidate_sessions
    where recency_rank = 1

)

select * from final
