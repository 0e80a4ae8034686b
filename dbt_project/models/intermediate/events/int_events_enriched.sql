{{ config(materialized='view') }}

{#- A view, so that incremental models' filters on loaded_at (and visitor) reach raw.events'
    indexes: every join here is a lookup against a small table. -#}

with

events as (

    select * from {{ ref('stg_raw__events') }}

),

projects as (

    select * from {{ ref('stg_raw__projects') }}

),

conversion_events as (

    select * from {{ ref('stg_raw__project_conversion_events') }}

),

user_agents as (

    select * from {{ ref('int_user_agents_parsed') }}

),

-- The traffic_sources seed imported twice, each CTE used once: a CTE used twice is materialized,
-- which would keep this view from being flattened into the models that read a few columns of it
-- (and so from dropping the joins those columns do not need).
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
        coalesce(projects.timezone, 'UTC') as project_timezone,
        projects.revenue_property,
        -- A referrer on the site itself is navigation, not a traffic source.
        case
            when events_with_hosts.referrer_host_any = events_with_hosts.page_host then null
            else events_with_hosts.referrer_host_any
        end as referrer_host,
        user_agents.device_type as agent_device_type,
        user_agents.os_name as agent_os_name,
        user_agents.browser_name as agent_browser_name,
        coalesce(user_agents.is_bot_agent, false) as is_bot_agent,
        conversion_events.event_name is not null and not events_with_hosts.is_identify as is_conversion,
        utm_sources.source_type as utm_source_type,
        referrer_sources.source_type as referrer_source_type,
        utm_mediums.medium_type as utm_medium_type

    from events_with_hosts
    left join projects
        on events_with_hosts.project_id = projects.project_id
    left join user_agents
        on events_with_hosts.user_agent = user_agents.user_agent
    left join conversion_events
        on events_with_hosts.project_id = conversion_events.project_id
        and events_with_hosts.event_name = conversion_events.event_name
    left join utm_sources
        on lower(events_with_hosts.utm_source) = utm_sources.source_name
    left join referrer_sources
        on case
            when events_with_hosts.referrer_host_any = events_with_hosts.page_host then null
            else events_with_hosts.referrer_host_any
        end = referrer_sources.source_name
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
        {{ beacon.local_date('event_at', 'project_timezone') }} as event_date,
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
        -- Apps send no user agent; their platform still tells the device and OS.
        coalesce(
            agent_device_type,
            case when lower(platform) in ('android', 'ios') then 'mobile' end
        ) as device_type,
        coalesce(
            agent_os_name,
            case lower(platform) when 'android' then 'Android' when 'ios' then 'iOS' end
        ) as os_name,
        agent_browser_name as browser_name,
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
        -- SPEC 3.2: the project's revenue_property in the event's properties (tracker: meta),
        -- read from the registry as it is now, so a changed revenue_property needs a full
        -- refresh of the models, not a reload of the events.
        {{ beacon.json_number('properties', 'revenue_property') }} as revenue,
        properties,
        load_id,
        line_number,
        loaded_at

    from events_joined

)

select * from final
