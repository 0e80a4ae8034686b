{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['project_id', 'anonymous_id']},
            {'columns': ['visitor_loaded_at']},
            {'columns': ['project_id', 'started_date']},
        ],
    )
}}

{#- Incremental: the sessions of every visitor fct_events has re-derived since the last run. -#}

{%- set timeline = 'event_at, message_id' -%}

with

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

sessions_aggregated as (

    select
        project_id,
        session_id,
        anonymous_id,
        min(user_id) as user_id,
        min(session_started_at) as started_at,
        max(event_at) as ended_at,
        min(session_date) as started_date,
        max(event_date) as ended_date,
        count(*) as events,
        sum(case when is_page_view then 1 else 0 end) as pageviews,
        sum(case when is_scroll then 1 else 0 end) as scrolls,
        sum(case when is_click then 1 else 0 end) as clicks,
        sum(case when {{ beacon.is_event_kind('form_start') }} then 1 else 0 end) as form_starts,
        sum(case when {{ beacon.is_event_kind('form_submit') }} then 1 else 0 end) as form_submits,
        sum(case when is_conversion then 1 else 0 end) as conversions,
        coalesce(sum(case when is_conversion then revenue end), 0) as revenue,
        max(scroll_pct) as max_scroll_pct,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        max(visitor_loaded_at) as visitor_loaded_at,
        -- Landing: the first page view, else the first event with a path; exit: the last page view.
        coalesce(
            {{ beacon.first_by('page_path', timeline, 'is_page_view') }},
            {{ beacon.first_by('page_path', timeline, 'page_path is not null') }}
        ) as landing_path,
        coalesce(
            {{ beacon.first_by('page_url', timeline, 'is_page_view') }},
            {{ beacon.first_by('page_url', timeline, 'page_path is not null') }}
        ) as landing_url,
        {{ beacon.last_by('page_path', timeline, 'is_page_view') }} as exit_path,
        -- Attribution and device come from the session's first event.
        max(case when is_session_start then client_session_id end) as client_session_id,
        max(case when is_session_start then referrer end) as referrer,
        max(case when is_session_start then referrer_host end) as referrer_host,
        max(case when is_session_start then channel_group end) as channel_group,
        max(case when is_session_start then utm_source end) as utm_source,
        max(case when is_session_start then utm_medium end) as utm_medium,
        max(case when is_session_start then utm_campaign end) as utm_campaign,
        max(case when is_session_start then utm_content end) as utm_content,
        max(case when is_session_start then utm_term end) as utm_term,
        max(case when is_session_start then utm_id end) as utm_id,
        max(case when is_session_start then utm_campaign_id end) as utm_campaign_id,
        max(case when is_session_start then utm_adset_id end) as utm_adset_id,
        max(case when is_session_start then utm_ad_id end) as utm_ad_id,
        max(case when is_session_start then utm_placement end) as utm_placement,
        max(case when is_session_start then fbclid end) as fbclid,
        max(case when is_session_start then device_type end) as device_type,
        max(case when is_session_start then os_name end) as os_name,
        max(case when is_session_start then browser_name end) as browser_name

    from events
    group by project_id, session_id, anonymous_id

),

final as (

    select
        project_id,
        session_id,
        anonymous_id,
        user_id,
        client_session_id,
        started_at,
        ended_at,
        started_date,
        ended_date,
        cast(floor(({{ beacon.epoch_ms('ended_at') }} - {{ beacon.epoch_ms('started_at') }}) / 1000.0)
             as {{ dbt.type_bigint() }}) as duration_seconds,
        cast(events as {{ dbt.type_bigint() }}) as events,
        cast(pageviews as {{ dbt.type_bigint() }}) as pageviews,
        cast(scrolls as {{ dbt.type_bigint() }}) as scrolls,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        cast(form_starts as {{ dbt.type_bigint() }}) as form_starts,
        cast(form_submits as {{ dbt.type_bigint() }}) as form_submits,
        -- A bounce: exactly one page view, every other event a scroll (SPEC 5.1).
        pageviews = 1 and events = 1 + scrolls as is_bounce,
        is_bot,
        landing_path,
        landing_url,
        exit_path,
        referrer,
        referrer_host,
        channel_group,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        utm_id,
        utm_campaign_id,
        utm_adset_id,
        utm_ad_id,
        utm_placement,
        fbclid,
        device_type,
        os_name,
        browser_name,
        max_scroll_pct,
        conversions > 0 as has_conversion,
        cast(conversions as {{ dbt.type_bigint() }}) as conversions,
        revenue,
        visitor_loaded_at

    from sessions_aggregated

)

select * from final
