{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'day'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ beacon.delete_days_without(ref('fct_sessions'), {'project_id': 'project_id', 'day': 'started_date'}) }}",
            "{{ beacon.record_row_count() }}",
        ],
    )
}}

{#- Incremental: recompute the days of the sessions that changed since the last run
    (fct_sessions.changed_at). A session that disappeared (merged into another by a late
    event) started inside the span of the session it merged into, so the days between each
    changed session's start and end dates cover it; a day left with no session at all is deleted
    by the post-hook. Days whose sessions were only re-derived unchanged keep their row, with the
    newer visitor_loaded_at. -#}

{%- set top_n = var('rollup_top_n') -%}
{%- set rollup_columns = [
    'project_id', 'day', 'visitors', 'sessions', 'bounces', 'pageviews', 'form_starts', 'form_submits',
    'avg_session_duration_secs', 'exits', 'metrics', 'top_paths', 'top_ctas', 'top_sources',
    'conversions', 'revenue', 'visitor_loaded_at',
] -%}

with

{% if is_incremental() %}
{%- set watermark = beacon.incremental_watermark('visitor_loaded_at') %}
rederived_sessions as (

    select project_id, started_date, ended_date, visitor_loaded_at, changed_at
    from {{ ref('fct_sessions') }}
    where visitor_loaded_at > {{ watermark }}

),

changed_sessions as (

    select project_id, started_date, ended_date
    from rederived_sessions
    -- null: a session written before fct_sessions had changed_at, counted as changed
    where coalesce(changed_at, visitor_loaded_at) > {{ watermark }}

),

affected_days as (

    select project_id, started_date as day
    from changed_sessions
    union
    select previous_rollups.project_id, previous_rollups.day
    from {{ this }} as previous_rollups
    inner join changed_sessions
        on previous_rollups.project_id = changed_sessions.project_id
        and previous_rollups.day between changed_sessions.started_date and changed_sessions.ended_date

),

-- visitor_loaded_at only grows, so the new maximum of an unchanged day is the larger of its
-- old one and its re-derived sessions'.
refreshed_days as (

    select
        rederived_sessions.project_id,
        rederived_sessions.started_date as day,
        max(rederived_sessions.visitor_loaded_at) as visitor_loaded_at

    from rederived_sessions
    left join affected_days
        on rederived_sessions.project_id = affected_days.project_id
        and rederived_sessions.started_date = affected_days.day
    where affected_days.day is null
    group by rederived_sessions.project_id, rederived_sessions.started_date

),
{% endif %}

-- The columns the rollups use (read by the sums, the distinct counts and the top sources, so
-- it is stored). The affected days are
-- a semi-join, hashed: as a join the planner, not knowing how few days there are, read all
-- sessions through the started_date index or hashed all of them instead.
sessions as (

    select
        project_id,
        started_date,
        anonymous_id,
        user_id,
        is_bot,
        is_bounce,
        pageviews,
        form_starts,
        form_submits,
        duration_seconds,
        clicks,
        conversions,
        has_conversion,
        revenue,
        utm_source,
        referrer_host,
        visitor_loaded_at

    from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where (project_id, started_date) in (select project_id, day from affected_days)
    {% endif %}

),

-- Page views and CTA clicks counted per visitor and day (int_daily_visitor_values), not the
-- day's wide rows of fct_events.
human_values as (

    select day_values.project_id, day_values.session_date, day_values.value_kind,
           day_values.value, day_values.events
    from {{ ref('int_daily_visitor_values') }} as day_values
    where not day_values.is_bot
    {% if is_incremental() %}
        and (day_values.project_id, day_values.session_date) in (select project_id, day from affected_days)
    {% endif %}

),

daily_sessions as (

    select
        project_id,
        started_date as day,
        sum(case when not is_bot then 1 else 0 end) as sessions,
        sum(case when not is_bot and is_bounce then 1 else 0 end) as bounces,
        sum(case when not is_bot then pageviews else 0 end) as pageviews,
        sum(case when not is_bot then form_starts else 0 end) as form_starts,
        sum(case when not is_bot then form_submits else 0 end) as form_submits,
        avg(case when not is_bot then duration_seconds end) as avg_session_duration_secs,
        sum(case when not is_bot and pageviews > 0 then 1 else 0 end) as exits,
        sum(case when not is_bot then conversions else 0 end) as conversions,
        sum(case when not is_bot then revenue else 0 end) as revenue,
        sum(case when not is_bot then clicks else 0 end) as clicks,
        sum(case when not is_bot and has_conversion then 1 else 0 end) as converting_sessions,
        sum(case when is_bot then 1 else 0 end) as bot_sessions,
        max(visitor_loaded_at) as visitor_loaded_at

    from sessions
    group by project_id, started_date

),

-- Distinct visitors and users of each day's human sessions, counted from their distinct pairs:
-- count(distinct) in daily_sessions would sort all the sessions, with every column its other
-- aggregates read, by visitor (at 10M events 2M rows, 11 s of the rollups' 25 s).
{%- set distinct_counts = {'visitors': 'anonymous_id', 'users': 'user_id'} %}
{% for counted, id_column in distinct_counts.items() %}
daily_{{ counted }} as (

    select project_id, started_date as day, count(*) as {{ counted }}
    from (
        select distinct project_id, started_date, {{ id_column }}
        from sessions
        where not is_bot and {{ id_column }} is not null
    ) as day_ids
    group by project_id, started_date

),
{% endfor %}

{%- set top_lists = {
    'top_paths': "select project_id, session_date as day, value, events from human_values where value_kind = 'page_path'",
    'top_ctas': "select project_id, session_date as day, value, events from human_values where value_kind = 'cta_label'",
    'top_sources': "select project_id, started_date as day, coalesce(utm_source, referrer_host, '(direct)') as value, 1 as events from sessions where not is_bot",
} %}

{% for list_name, list_sql in top_lists.items() %}
{{ list_name }}_counted as (

    select
        project_id,
        day,
        value,
        cast(sum(events) as {{ dbt.type_bigint() }}) as value_count,
        row_number() over (
            partition by project_id, day
            order by sum(events) desc, value
        ) as value_rank

    from ({{ list_sql }}) as list_values
    group by project_id, day, value

),

{{ list_name }} as (

    select
        project_id,
        day,
        {{ beacon.json_top_values('value', 'value_count', 'value_rank', top_n) }} as {{ list_name }}

    from {{ list_name }}_counted
    where value_rank <= {{ top_n }}
    group by project_id, day

),

{% endfor %}

final as (

    select
        daily_sessions.project_id,
        daily_sessions.day,
        cast(coalesce(daily_visitors.visitors, 0) as {{ dbt.type_bigint() }}) as visitors,
        cast(daily_sessions.sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(daily_sessions.bounces as {{ dbt.type_bigint() }}) as bounces,
        cast(daily_sessions.pageviews as {{ dbt.type_bigint() }}) as pageviews,
        cast(daily_sessions.form_starts as {{ dbt.type_bigint() }}) as form_starts,
        cast(daily_sessions.form_submits as {{ dbt.type_bigint() }}) as form_submits,
        round(daily_sessions.avg_session_duration_secs, 2) as avg_session_duration_secs,
        cast(daily_sessions.exits as {{ dbt.type_bigint() }}) as exits,
        {{ beacon.json_object([
            ('users', 'coalesce(daily_users.users, 0)'),
            ('clicks', 'daily_sessions.clicks'),
            ('converting_sessions', 'daily_sessions.converting_sessions'),
            ('bot_sessions', 'daily_sessions.bot_sessions'),
        ]) }} as metrics,
        {% for list_name in top_lists %}
        coalesce({{ list_name }}.{{ list_name }}, {{ beacon.empty_json_array() }}) as {{ list_name }},
        {% endfor %}
        cast(daily_sessions.conversions as {{ dbt.type_bigint() }}) as conversions,
        daily_sessions.revenue,
        daily_sessions.visitor_loaded_at

    from daily_sessions
    {% for counted in distinct_counts %}
    left join daily_{{ counted }}
        on daily_sessions.project_id = daily_{{ counted }}.project_id
        and daily_sessions.day = daily_{{ counted }}.day
    {% endfor %}
    {% for list_name in top_lists %}
    left join {{ list_name }}
        on daily_sessions.project_id = {{ list_name }}.project_id
        and daily_sessions.day = {{ list_name }}.day
    {% endfor %}

){% if is_incremental() %},

refreshed as (

    select
        {% for column in rollup_columns %}
        {% if column == 'visitor_loaded_at' -%}
        case
            when refreshed_days.visitor_loaded_at > previous_rollups.visitor_loaded_at
                then refreshed_days.visitor_loaded_at
            else previous_rollups.visitor_loaded_at
        end as visitor_loaded_at
        {%- else -%}
        previous_rollups.{{ column }}{% if not loop.last %},{% endif %}
        {%- endif %}
        {% endfor %}

    from {{ this }} as previous_rollups
    inner join refreshed_days
        on previous_rollups.project_id = refreshed_days.project_id
        and previous_rollups.day = refreshed_days.day

)

select * from final
union all
select * from refreshed
{% else %}

select * from final
{% endif %}
