-- Nothing dropped, nothing doubled: every raw event is in fct_events or int_identifies once.
{%- set since = beacon.verified_since(model.unique_id) %}
{% if since is none %}
-- Every row (a full refresh, or the first run): the counts per project agree.
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
{% else %}
-- Since the last run in which this test passed (macros/data_tests.sql): each event loaded since
-- is modelled exactly once, found through the visitor indexes of fct_events and int_identifies.
with

new_raw_events as (
    select project_id, message_id, anonymous_id, event_at, is_identify
    from {{ ref('stg_raw__events') }}
    where {{ beacon.written_since_verified('loaded_at') }}
),

copies as (
    select
        new_raw_events.project_id,
        new_raw_events.message_id,
        (
            select count(*) from {{ ref('fct_events') }} as events
            where events.project_id = new_raw_events.project_id
                and events.anonymous_id = new_raw_events.anonymous_id
                and events.event_at = new_raw_events.event_at
                and events.message_id = new_raw_events.message_id
        ) + (
            select count(*) from {{ ref('int_identifies') }} as identifies
            where identifies.project_id = new_raw_events.project_id
                and identifies.anonymous_id = new_raw_events.anonymous_id
                and identifies.message_id = new_raw_events.message_id
        ) as modelled_copies
    from new_raw_events
)

select project_id, message_id, modelled_copies
from copies
where modelled_copies <> 1
{% endif %}
