-- Funnels are unrolled up to var('funnel_max_steps') steps: a longer funnel would be cut short.
select project_id, funnel_name, max(step_number) as steps
from {{ ref('stg_raw__project_funnel_steps') }}
group by project_id, funnel_name
having max(step_number) > {{ var('funnel_max_steps') }}
