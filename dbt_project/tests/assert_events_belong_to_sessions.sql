-- Every event's session_id names a session of fct_sessions (as a relationships test would).
-- Since the last run in which this test passed (macros/data_tests.sql), both sides are the rows
-- written since: a run re-derives whole visitors into both marts, so a new event's session was
-- written in the same run. Two index ranges and a hash, where a relationships test looked every
-- new event up in all of fct_sessions (at 10M events on a slow spell 2.8-3.1 s of an incremental
-- build's dbt 55-60 s).
{{ beacon.holds_up_no_mart() }}
{%- set since = beacon.verified_since(model) %}

with

events as (
    select session_id
    from {{ ref('fct_events') }}
    where {{ beacon.written_since('visitor_loaded_at', since) }}
),

sessions as (
    select session_id
    from {{ ref('fct_sessions') }}
    where {{ beacon.written_since('visitor_loaded_at', since) }}
)

select events.session_id, count(*) as events
from events
where not exists (select 1 from sessions where sessions.session_id = events.session_id)
group by events.session_id
