-- The daily rollups add up to the non-bot sessions (incremental day recomputation included).
with

from_sessions as (
    select project_id, started_date as day, count(*) as sessions, sum(revenue) as revenue
    from {{ ref('fct_sessions') }}
    where not is_bot
    group by project_id, started_date
),

from_rollups as (
    select project_id, day, sessions, revenue
    from {{ ref('fct_daily_rollups') }}
    where sessions > 0
)

select *
from from_sessions
full outer join from_rollups using (project_id, day)
where from_sessions.sessions is distinct from from_rollups.sessions
    or from_sessions.revenue is distinct from from_rollups.revenue
