with

steps_reached as (

    select * from {{ ref('int_funnel_steps_reached') }}
    where not is_bot

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
        step_totals.median_seconds_from_entry

    from funnel_grid
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
        cast(median_seconds_from_entry as {{ dbt.type_numeric() }}) as median_seconds_from_entry

    from grid_counted

)

select * from final
