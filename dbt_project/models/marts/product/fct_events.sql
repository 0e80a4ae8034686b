{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        pre_hook="{{ beacon.hash_join_memory() }}",
        indexes=[
            {'columns': ['project_id', 'anonymous_id', 'event_at']},
            {'columns': ['visitor_loaded_at']},
            {'columns': ['project_id', 'session_date']},
        ],
    )
}}

{#- Incremental: every visitor with raw events loaded since the last run is re-derived whole
    (its earlier events read back from this table), because a new event can merge or split its
    sessions and change its stitched user id and bot flag for all its rows. -#}

{%- set columns = beacon.event_columns() -%}
{%- set timeline = 'partition by project_id, anonymous_id order by event_at, message_id' -%}
{%- set signal_columns = 'project_id, anonymous_id, message_id, event_user_id, event_at, event_date, is_bot_agent, loaded_at' -%}
{#- What the session windows read: every column incrementally (a few thousand visitors), the
    narrow timeline in a full build. -#}
{%- set sessionized = 'deduplicated_events' if is_incremental() else 'timeline' -%}

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

candidate_events as (

    select * from new_events
    union all
    select * from previous_events

),

-- New rows meet the rows built before (and, inside the lookback, rows seen before).
deduplicated_events as (

    {{ beacon.first_copy_per_message('candidate_events', columns) }}

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
-- A full build reads raw.events alone, whose primary key is (project_id, message_id). It orders
-- a narrow copy of the events into sessions and attaches the result to the wide rows afterwards
-- (events_in_sessions): sorting the wide rows would spill gigabytes to disk at 10M events. The
-- view is flattened into this query, so only these columns are computed here.
timeline as (

    select {{ signal_columns }}
    from {{ ref('int_events_enriched') }}
    where not is_identify

),

visitor_signals as (

    select {{ signal_columns }}
    from timeline
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
    group by project_id, anonymous_id, event_date

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
    group by project_id, anonymous_id

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
    group by visitor_days.project_id, visitor_days.anonymous_id

),

events_with_gaps as (

    select
        {{ sessionized }}.*,
        lag(event_at) over ({{ timeline }}) as previous_event_at

    from {{ sessionized }}

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

{% if is_incremental() %}
events_in_sessions as (

    select * from events_sessionized

),
{% else %}
events_in_sessions as (

    select
        new_events.*,
        events_sessionized.is_session_start,
        events_sessionized.session_started_at,
        events_sessionized.session_date

    from new_events
    inner join events_sessionized
        on new_events.project_id = events_sessionized.project_id
        and new_events.message_id = events_sessionized.message_id

),
{% endif %}

final as (

    select
        events_in_sessions.project_id,
        events_in_sessions.message_id,
        {{ beacon.session_id('events_in_sessions.project_id', 'events_in_sessions.anonymous_id',
                             'events_in_sessions.session_started_at') }} as session_id,
        events_in_sessions.anonymous_id,
        visitors_flagged.user_id,
        events_in_sessions.event_user_id,
        events_in_sessions.event_name,
        events_in_sessions.event_type,
        events_in_sessions.source_shape,
        events_in_sessions.event_at,
        events_in_sessions.event_date,
        events_in_sessions.session_started_at,
        events_in_sessions.session_date,
        events_in_sessions.is_session_start,
        events_in_sessions.is_page_view,
        events_in_sessions.is_scroll,
        events_in_sessions.is_click,
        events_in_sessions.is_conversion,
        events_in_sessions.revenue,
        events_in_sessions.cta_label,
        events_in_sessions.page_url,
        events_in_sessions.page_path,
        events_in_sessions.page_title,
        events_in_sessions.referrer,
        events_in_sessions.referrer_host,
        events_in_sessions.channel_group,
        events_in_sessions.utm_source,
        events_in_sessions.utm_medium,
        events_in_sessions.utm_campaign,
        events_in_sessions.utm_content,
        events_in_sessions.utm_term,
        events_in_sessions.utm_id,
        events_in_sessions.utm_campaign_id,
        events_in_sessions.utm_adset_id,
        events_in_sessions.utm_ad_id,
        events_in_sessions.utm_placement,
        events_in_sessions.fbclid,
        events_in_sessions.user_agent,
        events_in_sessions.device_type,
        events_in_sessions.os_name,
        events_in_sessions.browser_name,
        events_in_sessions.is_bot_agent,
        visitors_flagged.is_bot,
        events_in_sessions.platform,
        events_in_sessions.locale,
        events_in_sessions.client_timezone,
        events_in_sessions.client_channel,
        events_in_sessions.screen_width,
        events_in_sessions.screen_height,
        events_in_sessions.scroll_pct,
        events_in_sessions.library_name,
        events_in_sessions.library_version,
        events_in_sessions.client_session_id,
        events_in_sessions.client_event_at,
        events_in_sessions.sent_at,
        events_in_sessions.received_at,
        events_in_sessions.properties,
        events_in_sessions.load_id,
        events_in_sessions.line_number,
        events_in_sessions.loaded_at,
        visitors_flagged.visitor_loaded_at

    from events_in_sessions
    inner join visitors_flagged
        on events_in_sessions.project_id = visitors_flagged.project_id
        and events_in_sessions.anonymous_id = visitors_flagged.anonymous_id

)

select * from final
