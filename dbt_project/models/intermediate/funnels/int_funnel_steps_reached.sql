{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        pre_hook="{{ beacon.avoid_nested_loops() }}",
        indexes=[
            {'columns': ['anonymous_id', 'project_id']},
            {'columns': ['visitor_loaded_at']},
            {'columns': ['changed_at']},
            {'columns': ['project_id', 'funnel_name', 'entry_date']},
        ],
    )
}}

{#- One row per funnel entry and step reached (SPEC 5.6). A visitor enters at its first step-1
    event of each project-local day; step n is the earliest step-n event strictly later than the
    time step n-1 was reached and at most conversion_window_days after entry (inclusive). Steps
    are unrolled up to the `funnel_max_steps` var (a data test guards the registry against longer
    funnels). Bots are kept, flagged, so that a visitor turning out a bot replaces its rows.
    `changed_at` is the visitor_loaded_at with which the row last changed: fct_funnel_daily
    recomputes only the entry days of changed rows, not every day of each re-derived visitor. -#}

{%- set max_steps = var('funnel_max_steps') -%}
{%- set entry_columns = 'project_id, funnel_name, anonymous_id, entry_date, entry_at, conversion_window_days, is_bot, visitor_loaded_at' -%}

with

events as (

    select project_id, anonymous_id, event_name, event_at, event_date, is_bot, visitor_loaded_at
    from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

funnel_steps as (

    select * from {{ ref('stg_raw__project_funnel_steps') }}

),

step_events as (

    select
        events.project_id,
        events.anonymous_id,
        events.event_at,
        events.event_date,
        events.is_bot,
        events.visitor_loaded_at,
        funnel_steps.funnel_name,
        funnel_steps.step_number,
        funnel_steps.conversion_window_days

    from events
    inner join funnel_steps
        on events.project_id = funnel_steps.project_id
        and events.event_name = funnel_steps.step_event

),

reached_step_1 as (

    select
        project_id,
        funnel_name,
        anonymous_id,
        event_date as entry_date,
        min(event_at) as entry_at,
        max(conversion_window_days) as conversion_window_days,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        max(visitor_loaded_at) as visitor_loaded_at,
        1 as step_number,
        min(event_at) as reached_at

    from step_events
    where step_number = 1
    group by anonymous_id, project_id, funnel_name, event_date

),

{% for step in range(2, max_steps + 1) %}
reached_step_{{ step }} as (

    select
        {% for column in entry_columns.split(', ') %}previous_step.{{ column }},
        {% endfor %}{{ step }} as step_number,
        min(step_events.event_at) as reached_at

    from reached_step_{{ step - 1 }} as previous_step
    inner join step_events
        on previous_step.project_id = step_events.project_id
        and previous_step.funnel_name = step_events.funnel_name
        and previous_step.anonymous_id = step_events.anonymous_id
        and step_events.step_number = {{ step }}
        and step_events.event_at > previous_step.reached_at
        and step_events.event_at <= {{ dbt.dateadd('day', 'previous_step.conversion_window_days', 'previous_step.entry_at') }}
    group by {% for column in entry_columns.split(', ') %}previous_step.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}

),

{% endfor %}

all_reached as (

    {% for step in range(1, max_steps + 1) %}
    select {{ entry_columns }}, step_number, reached_at from reached_step_{{ step }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

reached_with_events as (

    select
        all_reached.project_id,
        all_reached.funnel_name,
        all_reached.anonymous_id,
        all_reached.entry_date,
        all_reached.entry_at,
        all_reached.step_number,
        funnel_steps.step_event,
        all_reached.reached_at,
        cast(
            ({{ beacon.epoch_ms('all_reached.reached_at') }} - {{ beacon.epoch_ms('all_reached.entry_at') }}) / 1000.0
            as {{ dbt.type_numeric() }}
        ) as seconds_from_entry,
        all_reached.is_bot,
        all_reached.visitor_loaded_at

    from all_reached
    inner join funnel_steps
        on all_reached.project_id = funnel_steps.project_id
        and all_reached.funnel_name = funnel_steps.funnel_name
        and all_reached.step_number = funnel_steps.step_number

),

final as (

    {{ beacon.with_changed_at('reached_with_events',
        ['project_id', 'funnel_name', 'anonymous_id', 'entry_date', 'step_number'],
        ['step_event', 'entry_at', 'reached_at', 'is_bot']) }}

)

select * from final
