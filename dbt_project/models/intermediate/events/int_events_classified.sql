{{ config(materialized='view') }}

{#- Each raw event with what its project and its user agent tell about it: the project-local
    date, the revenue (SPEC 3.2), the device, OS and browser, the bot flag. Only lookups against
    small tables, kept apart from int_events_enriched's traffic-source joins: the models that
    need no more than visitor signals (event_date, is_bot_agent) read this view and skip those
    joins, which PostgreSQL cannot drop from a view it plans as a subquery. -#}

with

events as (

    select * from {{ ref('stg_raw__events') }}

),

projects as (

    select * from {{ ref('stg_raw__projects') }}

),

user_agents as (

    select * from {{ ref('int_user_agents_parsed') }}

),

final as (

    select
        events.*,
        {{ beacon.local_date('events.event_at', "coalesce(projects.timezone, 'UTC')") }} as event_date,
        -- SPEC 3.2: the project's revenue_property in the event's properties (tracker: meta),
        -- read from the registry as it is now, so a changed revenue_property needs a full
        -- refresh of the models, not a reload of the events.
        {{ beacon.json_number('events.properties', 'projects.revenue_property') }} as revenue,
        -- Apps send no user agent; their platform still tells the device and OS.
        coalesce(
            user_agents.device_type,
            case when lower(events.platform) in ('android', 'ios') then 'mobile' end
        ) as device_type,
        coalesce(
            user_agents.os_name,
            case lower(events.platform) when 'android' then 'Android' when 'ios' then 'iOS' end
        ) as os_name,
        user_agents.browser_name,
        coalesce(user_agents.is_bot_agent, false) as is_bot_agent

    from events
    left join projects
        on events.project_id = projects.project_id
    left join user_agents
        on events.user_agent = user_agents.user_agent

)

select * from final
