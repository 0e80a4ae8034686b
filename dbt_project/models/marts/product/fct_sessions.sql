{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        pre_hook="{{ beacon.read_in_index_order(ref('fct_events'), 'anonymous_id') }}",
        indexes=[
            {'columns': ['anonymous_id', 'project_id', 'started_at', 'session_id']},
            {'columns': ['visitor_loaded_at']},
            {'columns': ['project_id', 'started_date']},
        ],
    )
}}

{#- Incremental: the sessions of every visitor fct_events has re-derived since the last run.
    A whole build reads fct_events in its primary key's order, (anonymous_id, project_id,
    session_started_at, event_at, message_id): each session's events in a row, in time order,
    and the table stored in that order, so the sessions are aggregated as they come, without
    sorting 10M wide rows (read_in_index_order). The sessions come out by visitor, the order of
    the first index, through which the planner has dim_visitors read them too.
    changed_at: a re-derived session equal in every column to the row built before keeps its
    changed_at, so fct_daily_rollups recomputes only the days of sessions that did change (a
    returning visitor's old sessions are re-derived too, and mostly come out the same). -#}

{%- set timeline = 'event_at, message_id' -%}
{%- set session_key = ['project_id', 'anonymous_id', 'session_id'] -%}
{#- Compared for changed_at: every column of the model (its contract) that the table has too,
    but the key and the watermarks. -#}
{%- set compared_columns = [] -%}
{%- if execute and is_incremental() -%}
    {%- for column in adapter.get_columns_in_relation(this) -%}
        {%- if column.name in model.columns
            and column.name not in session_key + ['visitor_loaded_at', 'changed_at'] -%}
            {%- do compared_columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif -%}
{#- Attribution and device: the session's first event's (SPEC 5.1), its one is_session_start
    row. -#}
{%- set start_columns = [
    'client_session_id', 'referrer', 'referrer_host', 'channel_group',
    'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'utm_id',
    'utm_campaign_id', 'utm_adset_id', 'utm_ad_id', 'utm_placement', 'fbclid',
    'device_type', 'os_name', 'browser_name',
] -%}

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
        -- One value per group: session_id is the md5 of the group's keys (macros/session_id.sql).
        min(session_id) as session_id,
        anonymous_id,
        min(user_id) as user_id,
        session_started_at as started_at,
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
        {#- The start columns: the value of the session's one is_session_start row (min() of
            one value; the columns are text: a boolean, json or uuid one has no min()). #}
        {%- for column in start_columns %}
        min({{ column }}) filter (where is_session_start) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}

    from events
    group by anonymous_id, project_id, session_started_at

),

sessions as (

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

),

final as (

    {{ beacon.with_changed_at('sessions', session_key, compared_columns) }}

)

select * from final
