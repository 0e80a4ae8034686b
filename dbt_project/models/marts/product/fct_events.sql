{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['visitor_loaded_at']}],
    )
}}

{#- Visitor lookups use the primary key, (anonymous_id, project_id, session_started_at,
    event_at, message_id): a visitor's rows in time order, the order a whole build writes them.
    Incremental: every visitor with raw events loaded since the last run is re-derived whole
    (its earlier events read back from this table), because a new event can merge or split its
    sessions and change its stitched user id and bot flag for all its rows. -#}

{%- set columns = beacon.event_columns() -%}
{#- anonymous_id leads the window's sort key: its random leading bytes tell rows apart in the sort's
    abbreviated keys, which project_id (shared by a project's rows) never does. -#}
{%- set timeline = 'partition by anonymous_id, project_id order by event_at, message_id' -%}
{%- set signal_columns = 'project_id, anonymous_id, message_id, event_user_id, event_at, event_date, is_bot_agent, loaded_at' -%}

with

enriched_events as (

    select * from {{ ref('int_events_enriched') }}
    {% if is_incremental() %}
    where loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

identifies as (

    select * from {{ ref('int_identifies') }}

),

new_events as (

    select {{ columns | join(', ') }}
    from enriched_events
    where not is_identify

),

{% if is_incremental() %}
touched_visitors as (

    select distinct
        project_id,
        anonymous_id

    from enriched_events

),

previous_events as (

    {{ beacon.rows_of_visitors(this, 'touched_visitors', columns) }}

),

previous_messages as (

    {{ beacon.rows_of_visitors(this, 'touched_visitors', ['project_id', 'message_id']) }}

),

-- New rows meet the rows built before. raw.events holds a message once, so a new row whose
-- message this table holds already is a later copy (re-read inside the lookback, or sent again
-- after retention deleted the first): the row built before stands, SPEC 4's first copy. An
-- anti-join on the keys (read from the primary key alone), where numbering the copies sorted
-- all the visitors' wide rows by message (at 10M events 314k rows, spilling 164 MB).
deduplicated_events as (

    select * from previous_events
    union all
    select * from new_events
    where not exists (
        select 1
        from previous_messages
        where previous_messages.project_id = new_events.project_id
            and previous_messages.message_id = new_events.message_id
    )

),

visitor_identifies as (

    {{ beacon.rows_of_visitors(ref('int_identifies'), 'touched_visitors', signal_columns.split(', ')) }}

),

visitor_signals as (

    select {{ signal_columns }}
    from deduplicated_events
    union all
    select {{ signal_columns }}
    from visitor_identifies

),
{% else %}
-- A full build reads raw.events alone, already one row per (project_id, message_id): its primary
-- key is event_key, a uuid of md5(project_id || '\n' || message_id).
deduplicated_events as (

    select * from new_events

),

-- The events a second time but narrow, from int_events_classified: without the traffic-source
-- joins of int_events_enriched (a third of its CPU at 10M events). Deriving the visitors from
-- deduplicated_events instead would make PostgreSQL write all its wide rows to disk to read
-- them twice. Not materialized: each of its two readers (visitor_days, visitor_users) scans it
-- in parallel, where the stored CTE was one process writing and reading 10M rows while the
-- other core idled (at 10M events the whole query 255 s -> 233 s, two interleaved pairs).
visitor_signals as not materialized (

    select
        project_id,
        anonymous_id,
        message_id,
        user_id as event_user_id,
        event_at,
        event_date,
        is_bot_agent,
        loaded_at

    from {{ ref('int_events_classified') }}
    where not is_identify
    union all
    select {{ signal_columns }}
    from identifies

),
{% endif %}

visitor_days as (

    select
        project_id,
        anonymous_id,
        event_date,
        count(*) as events,
        {{ dbt.bool_or('is_bot_agent') }} as is_bot_agent,
        max(loaded_at) as loaded_at

    from visitor_signals
    group by anonymous_id, project_id, event_date

),

-- Identity stitching (SPEC 5.2): the latest non-null user id sent with this anonymous id (only
-- the events carrying one are ordered).
visitor_users as (

    select
        project_id,
        anonymous_id,
        {{ beacon.last_by('event_user_id', 'event_at, message_id') }} as user_id

    from visitor_signals
    where event_user_id is not null
    group by anonymous_id, project_id

),

visitors_flagged as (

    select
        visitor_days.project_id,
        visitor_days.anonymous_id,
        max(visitor_users.user_id) as user_id,
        max(visitor_days.loaded_at) as visitor_loaded_at,
        -- Bots (SPEC 5.3): a bot user agent on any event, or too many events on one local day.
        {{ dbt.bool_or('visitor_days.is_bot_agent') }}
            or max(visitor_days.events) > {{ var('bot_daily_event_threshold') }} as is_bot

    from visitor_days
    left join visitor_users
        on visitor_days.project_id = visitor_users.project_id
        and visitor_days.anonymous_id = visitor_users.anonymous_id
    group by visitor_days.anonymous_id, visitor_days.project_id

),

events_with_gaps as (

    select
        deduplicated_events.*,
        lag(event_at) over ({{ timeline }}) as previous_event_at

    from deduplicated_events

),

events_marked as (

    select
        events_with_gaps.*,
        -- Sessions (SPEC 5.1): a gap of more than the timeout starts a new one; exactly the
        -- timeout stays in the session.
        (
            previous_event_at is null
            or event_at > {{ dbt.dateadd('minute', var('session_timeout_minutes'), 'previous_event_at') }}
        ) as is_session_start

    from events_with_gaps

),

events_sessionized as (

    select
        events_marked.*,
        -- Event times only grow along the timeline, so the latest session start so far is this
        -- event's (and its local date the session's date).
        max(case when is_session_start then event_at end) over (
            {{ timeline }} rows between unbounded preceding and current row
        ) as session_started_at,
        max(case when is_session_start then event_date end) over (
            {{ timeline }} rows between unbounded preceding and current row
        ) as session_date

    from events_marked

),

final as (

    select
        events_sessionized.project_id,
        events_sessionized.message_id,
        {{ beacon.session_id('events_sessionized.project_id', 'events_sessionized.anonymous_id',
                             'events_sessionized.session_started_at') }} as session_id,
        events_sessionized.anonymous_id,
        visitors_flagged.user_id,
        events_sessionized.event_user_id,
        events_sessionized.event_name,
        events_sessionized.event_type,
        events_sessionized.source_shape,
        events_sessionized.event_at,
        events_sessionized.event_date,
        events_sessionized.session_started_at,
        events_sessionized.session_date,
        events_sessionized.is_session_start,
        events_sessionized.is_page_view,
        events_sessionized.is_scroll,
        events_sessionized.is_click,
        events_sessionized.is_conversion,
        events_sessionized.revenue,
        events_sessionized.cta_label,
        events_sessionized.page_url,
        events_sessionized.page_path,
        events_sessionized.page_title,
        events_sessionized.referrer,
        events_sessionized.referrer_host,
        events_sessionized.channel_group,
        events_sessionized.utm_source,
        events_sessionized.utm_medium,
        events_sessionized.utm_campaign,
        events_sessionized.utm_content,
        events_sessionized.utm_term,
        events_sessionized.utm_id,
        events_sessionized.utm_campaign_id,
        events_sessionized.utm_adset_id,
        events_sessionized.utm_ad_id,
        events_sessionized.utm_placement,
        events_sessionized.fbclid,
        events_sessionized.user_agent,
        events_sessionized.device_type,
        events_sessionized.os_name,
        events_sessionized.browser_name,
        events_sessionized.is_bot_agent,
        visitors_flagged.is_bot,
        events_sessionized.platform,
        events_sessionized.locale,
        events_sessionized.client_timezone,
        events_sessionized.client_channel,
        events_sessionized.screen_width,
        events_sessionized.screen_height,
        events_sessionized.scroll_pct,
        events_sessionized.library_name,
        events_sessionized.library_version,
        events_sessionized.client_session_id,
        events_sessionized.client_event_at,
        events_sessionized.sent_at,
        events_sessionized.received_at,
        events_sessionized.properties,
        events_sessionized.load_id,
        events_sessionized.line_number,
        events_sessionized.loaded_at,
        visitors_flagged.visitor_loaded_at

    from events_sessionized
    inner join visitors_flagged
        on events_sessionized.project_id = visitors_flagged.project_id
        and events_sessionized.anonymous_id = visitors_flagged.anonymous_id

)

select * from final
