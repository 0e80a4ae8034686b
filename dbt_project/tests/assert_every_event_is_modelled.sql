-- Nothing dropped, nothing doubled: every raw event is in fct_events or int_identifies once.
with

raw_counts as (
    select project_id, count(*) as events
    from {{ ref('stg_raw__events') }}
    group by project_id
),

modelled_counts as (
    select project_id, sum(events) as events
    from (
        select project_id, count(*) as events from {{ ref('fct_events') }} group by project_id
        union all
        select project_id, count(*) as events from {{ ref('int_identifies') }} group by project_id
    ) as modelled
    group by project_id
)

select raw_counts.project_id, raw_counts.events as raw_events, modelled_counts.events as modelled_events
from raw_counts
left join modelled_counts
    on raw_counts.project_id = modelled_counts.project_id
where coalesce(modelled_counts.events, 0) <> raw_counts.events
