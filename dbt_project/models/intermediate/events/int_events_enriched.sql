{{ config(materialized='view') }}

{#- int_events_classified with its traffic source, channel group and conversion flag. A view,
    so that incremental models' filters on loaded_at (and visitor) reach raw.events' indexes:
    every join here is a lookup against a small table. -#}

with

events as (

    select * from {{ ref('int_events_classified') }}

),

conversion_events as (

    select * from {{ ref('stg_raw__project_conversion_events') }}

),

-- The traffic_sources seed imported twice, each CTE used once: a CTE used twice is materialized,
-- with every column of every event, where models that read a few columns of this view have
-- PostgreSQL compute only those.
utm_sources as (

    select * from {{ ref('traffic_sources') }}

),

referrer_sources as (

    select * from {{ ref('traffic_sources') }}

),

utm_mediums as (

    select * from {{ ref('utm_mediums') }}

),

events_with_hosts as (

    select
        events.*,
        {{ beacon.strip_www(beacon.url_host('events.referrer')) }} as referrer_host_any,
        {{ beacon.strip_www(beacon.url_host('events.page_url')) }} as page_host

    from events

),

events_joined as (

    select
        events_with_hosts.*,
        -- A referrer on the site itself is navigation, not a traffic source. nullif computes
        -- each host once, where a case would repeat the first (PostgreSQL substitutes the
        -- hosts' expressions wherever they are used).
        nullif(events_with_hosts.referrer_host_any, events_with_hosts.page_host) as referrer_host,
        conversion_events.event_name is not null and not events_with_hosts.is_identify as is_conversion,
        utm_sources.source_type as utm_source_type,
        referrer_sources.source_type as referrer_source_type,
        utm_mediums.medium_type as utm_medium_type

    from events_with_hosts
    left join conversion_events
        on events_with_hosts.project_id = conversion_events.project_id
        and events_with_hosts.event_name = conversion_events.event_name
    left join utm_sources
        on lower(events_with_hosts.utm_source) = utm_sources.source_name
    left join referrer_sources
        on nullif(events_with_hosts.referrer_host_any, events_with_hosts.page_host)
            = referrer_sources.source_name
    left join utm_mediums
        on lower(events_with_hosts.utm_medium) = utm_mediums.utm_medium

),

final as (

    select
        project_id,
        message_id,
        source_shape,
        event_type,
        event_name,
        is_page_view,
        is_identify,
        is_scroll,
        is_click,
        is_conversion,
        cta_label,
        anonymous_id,
        user_id as event_user_id,
        client_session_id,
        event_at,
        event_date,
        client_event_at,
        sent_at,
        received_at,
        page_url,
        page_path,
        page_title,
        referrer,
        referrer_host,
        {{ beacon.channel_group() }} as channel_group,
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
        user_agent,
        device_type,
        os_name,
        browser_name,
        is_bot_agent,
        platform,
        locale,
        client_timezone,
        client_channel,
        screen_width,
        screen_height,
        scroll_pct,
        library_name,
        library_version,
        revenue,
        properties,
        load_id,
        line_number,
        loaded_at

    from events_joined

)

select * from final
