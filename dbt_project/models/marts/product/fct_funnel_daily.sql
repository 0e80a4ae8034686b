{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'funnel_name', 'entry_date'],
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ beacon.delete_days_without(ref('int_funnel_steps_reached'), {'project_id': 'project_id', 'funnel_name': 'funnel_name', 'entry_date': 'entry_date'}, 'not source_rows.is_bot') }}",
            "{{ beacon.record_row_count() }}",
        ],
    )
}}

{#- Incremental: recompute the entry days of the rows of int_funnel_steps_reached that changed
    since the last run (changed_at). Rows never disappear from an entry day whose rows did not
    change: a visitor's new events can only move its entry or steps earlier, or flag it a bot,
    and each changes a row of that entry. A day left with bot entries only is deleted by the
    post-hook. -#}

with

{% if is_incremental() %}
changed_days as (

    select distinct project_id, funnel_name, entry_date
    from {{ ref('int_funnel_steps_reached') }}
    where changed_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}

),
{% endif %}

reached as (

    select all_reached.*
    from {{ ref('int_funnel_steps_reached') }} as all_reached
    {% if is_incremental() %}
    inner join changed_days
        on all_reached.project_id = changed_days.project_id
        and all_reached.funnel_name = changed_days.funnel_name
        and all_reached.entry_date = changed_days.entry_date
    {% endif %}

),

steps_reached as (

    select * from reached
    where not is_bot

),

-- Incremental bookkeeping: the latest visitor_loaded_at of the day's entries, bots included.
day_loads as (

    select project_id, funnel_name, entry_date, max(visitor_loaded_at) as visitor_loaded_at
    from reached
    group by project_id, funnel_name, entry_date

),

funnel_steps as (

    select * from {{ ref('stg_raw__project_funnel_steps') }}

),

entry_days as (

    select distinct project_id, funnel_name, entry_date
    from steps_reached

),

-- Every step of every funnel on every entry day, so a step nobody reached shows 0.
funnel_grid as (

    select
        entry_days.project_id,
        entry_days.funnel_name,
        entry_days.entry_date,
        funnel_steps.step_number,
        funnel_steps.step_event

    from entry_days
    inner join funnel_steps
        on entry_days.project_id = funnel_steps.project_id
        and entry_days.funnel_name = funnel_steps.funnel_name

),

step_totals as (

    select
        project_id,
        funnel_name,
        entry_date,
        step_number,
        count(*) as visitors,
        {{ beacon.percentile_cont(0.5, 'seconds_from_entry') }} as median_seconds_from_entry

    from steps_reached
    group by project_id, funnel_name, entry_date, step_number

),

grid_counted as (

    select
        funnel_grid.*,
        coalesce(step_totals.visitors, 0) as visitors,
        step_totals.median_seconds_from_entry,
        day_loads.visitor_loaded_at

    from funnel_grid
    inner join day_loads
        on funnel_grid.project_id = day_loads.project_id
        and funnel_grid.funnel_name = day_loads.funnel_name
        and funnel_grid.entry_date = day_loads.entry_date
    left join step_totals
        on funnel_grid.project_id = step_totals.project_id
        and funnel_grid.funnel_name = step_totals.funnel_name
        and funnel_grid.entry_date = step_totals.entry_date
        and funnel_grid.step_number = step_totals.step_number

),

final as (

    select
        project_id,
        funnel_name,
        entry_date,
        step_number,
        step_event,
        cast(visitors as {{ dbt.type_bigint() }}) as visitors,
        {{ beacon.safe_divide('visitors', 'max(case when step_number = 1 then visitors end) over (partition by project_id, funnel_name, entry_date)') }}
            as conversion_from_start,
        {{ beacon.safe_divide('visitors', 'coalesce(lag(visitors) over (partition by project_id, funnel_name, entry_date order by step_number), visitors)') }}
            as conversion_from_previous,
        cast(median_seconds_from_entry as {{ dbt.type_numeric() }}) as median_seconds_from_entry,
        visitor_loaded_at

    from grid_counted

)

select * from final
