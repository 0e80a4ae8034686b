with

visitors as (

    select * from {{ ref('dim_visitors') }}

),

final as (

    select
        project_id,
        user_id,
        cast(count(*) as {{ dbt.type_bigint() }}) as anonymous_ids,
        cast(sum(case when is_bot then 1 else 0 end) as {{ dbt.type_bigint() }}) as bot_anonymous_ids,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        cast(sum(sessions_count) as {{ dbt.type_bigint() }}) as sessions_count,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        cast(sum(conversions) as {{ dbt.type_bigint() }}) as conversions,
        sum(revenue) as revenue

    from visitors
    where user_id is not null
    group by project_id, user_id

)

select * from final
