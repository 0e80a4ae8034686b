{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='user_agent',
        on_schema_change='append_new_columns',
        indexes=[{'columns': ['user_agent']}],
    )
}}

{#- One row per distinct user agent: parsing and bot matching run once per string, not once per
    event (regular expressions against every seed pattern are the costly part). Bot patterns
    run after the bot_user_agent_exceptions tokens (real devices such as CUBOT phones) are
    blanked out. -#}

with

events as (

    select * from {{ ref('stg_raw__events') }}

),

user_agent_rules as (

    select * from {{ ref('user_agent_rules') }}

),

bot_user_agent_patterns as (

    select * from {{ ref('bot_user_agent_patterns') }}

),

bot_user_agent_exceptions as (

    select * from {{ ref('bot_user_agent_exceptions') }}

),

new_loads_by_agent as (

    select
        user_agent,
        -- The run's latest load, not each agent's: when a run sees any agent, the watermark
        -- also moves past the loads that brought none (app and server events, the null
        -- group), instead of reading them again next run (millions of rows when such files
        -- come last). A window over the groups, so that `events` is read once.
        max(max(loaded_at)) over () as last_loaded_at

    from events
    {% if is_incremental() %}
    where loaded_at > {{ beacon.incremental_watermark('last_loaded_at') }}
    {% endif %}
    group by user_agent

),

new_user_agents as (

    select
        user_agent,
        last_loaded_at

    from new_loads_by_agent
    where user_agent is not null

),

rule_matches as (

    select
        new_user_agents.user_agent,
        user_agent_rules.dimension,
        user_agent_rules.value,
        row_number() over (
            partition by new_user_agents.user_agent, user_agent_rules.dimension
            order by user_agent_rules.priority, user_agent_rules.value
        ) as match_rank

    from new_user_agents
    inner join user_agent_rules
        on {{ beacon.regexp_matches('new_user_agents.user_agent', 'user_agent_rules.pattern') }}

),

winning_rules as (

    select
        user_agent,
        max(case when dimension = 'device_type' then value end) as device_type,
        max(case when dimension = 'os_name' then value end) as os_name,
        max(case when dimension = 'browser_name' then value end) as browser_name

    from rule_matches
    where match_rank = 1
    group by user_agent

),

-- All the exceptions as one alternation (null when there are none).
bot_exceptions_combined as (

    select {{ dbt.listagg("'(' || pattern || ')'", "'|'") }} as pattern
    from bot_user_agent_exceptions

),

-- Known non-bot tokens (a phone named CUBOT P30) blanked out, each with a space so that no new
-- word forms across the gap: the bot patterns see only what is left.
agents_without_exceptions as (

    select
        new_user_agents.user_agent,
        coalesce(
            {{ beacon.regexp_replace_all('new_user_agents.user_agent', 'bot_exceptions_combined.pattern', "' '") }},
            new_user_agents.user_agent
        ) as bot_candidate

    from new_user_agents
    cross join bot_exceptions_combined

),

bot_matches as (

    select distinct agents_without_exceptions.user_agent

    from agents_without_exceptions
    inner join bot_user_agent_patterns
        on {{ beacon.regexp_matches('agents_without_exceptions.bot_candidate', 'bot_user_agent_patterns.pattern') }}

),

final as (

    select
        new_user_agents.user_agent,
        coalesce(winning_rules.device_type, 'other') as device_type,
        coalesce(winning_rules.os_name, 'Other') as os_name,
        coalesce(winning_rules.browser_name, 'Other') as browser_name,
        bot_matches.user_agent is not null as is_bot_agent,
        new_user_agents.last_loaded_at

    from new_user_agents
    left join winning_rules
        on new_user_agents.user_agent = winning_rules.user_agent
    left join bot_matches
        on new_user_agents.user_agent = bot_matches.user_agent

)

select * from final
