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

{#- The events behind fct_daily_rollups' top_paths and top_ctas, counted per visitor and session
    day: a day's lists are recomputed from these few narrow rows instead of from the day's wide
    rows of fct_events (at 10M events a recomputed day read ~100 MB there). Bots are kept, flagged,
    so that a visitor turning out a bot replaces its rows (delete+insert by visitor). No index on
    the day: recomputed days are spread over the history, so reading them is a scan of this
    narrow table either way, and at 10M events its build cost 11 s.
    Its name sorts before int_funnel_steps_reached's on purpose: dbt queues nodes for its threads
    as they become ready, those ready together by depth and then by name, and fct_daily_rollups,
    the longest node of an incremental build after fct_sessions, waits for this model, not for
    the funnels (at 10M events, named int_visitor_day_values, it ran after the funnels and the
    rollups started 2 s late). -#}

with

events as (

    select project_id, anonymous_id, session_date, is_bot, visitor_loaded_at,
           is_page_view, page_path, is_click, cta_label
    from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

-- Each event once (a join to the two kinds, not a union over a second read of the events).
counted_values as (

    select
        events.project_id, events.anonymous_id, events.session_date, events.is_bot,
        events.visitor_loaded_at, kinds.value_kind,
        case when kinds.value_kind = 'page_path' then events.page_path else events.cta_label end
            as value

    from events
    inner join (select 'page_path' as value_kind union all select 'cta_label') as kinds
        on (kinds.value_kind = 'page_path' and events.is_page_view and events.page_path is not null)
        or (kinds.value_kind = 'cta_label' and events.is_click and events.cta_label is not null)

)

select
    project_id,
    anonymous_id,
    session_date,
    value_kind,
    value,
    cast(count(*) as {{ dbt.type_bigint() }}) as events,
    {{ dbt.bool_or('is_bot') }} as is_bot,
    max(visitor_loaded_at) as visitor_loaded_at

from counted_values
group by anonymous_id, project_id, session_date, value_kind, value
