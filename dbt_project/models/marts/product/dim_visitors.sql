{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['visitor_loaded_at']},
        ],
    )
}}

{%- set by_start = 'started_at, session_id' -%}
{%- set has_utm = 'utm_source is not null or utm_medium is not null or utm_campaign is not null or utm_ad_id is not null' -%}

with

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

sessions_with_utm as (

    select
        sessions.*,
        case when {{ has_utm }} then {{ beacon.json_object([
            ('utm_source', 'utm_source'), ('utm_medium', 'utm_medium'),
            ('utm_campaign', 'utm_campaign'), ('utm_content', 'utm_content'),
            ('utm_term', 'utm_term'), ('utm_campaign_id', 'utm_campaign_id'),
            ('utm_adset_id', 'utm_adset_id'), ('utm_ad_id', 'utm_ad_id'),
        ]) }} end as utm

    from sessions

),

final as (

    select
        project_id,
        anonymous_id,
        min(user_id) as user_id,
        min(started_at) as first_seen_at,
        max(ended_at) as last_seen_at,
        cast(count(*) as {{ dbt.type_bigint() }}) as sessions_count,
        cast(sum(events) as {{ dbt.type_bigint() }}) as events,
        cast(sum(pageviews) as {{ dbt.type_bigint() }}) as pageviews,
        cast(sum(conversions) as {{ dbt.type_bigint() }}) as conversions,
        sum(revenue) as revenue,
        {{ beacon.first_by('utm', by_start, 'utm is not null') }} as first_utm,
        {{ beacon.last_by('utm', by_start, 'utm is not null') }} as last_utm,
        {{ beacon.first_by('utm_source', by_start, 'utm is not null') }} as first_utm_source,
        {{ beacon.last_by('utm_source', by_start, 'utm is not null') }} as last_utm_source,
        {{ beacon.first_by('channel_group', by_start) }} as first_channel_group,
        {{ beacon.first_by('landing_path', by_start) }} as first_landing_path,
        {{ beacon.last_by('device_type', by_start) }} as device_type,
        {{ beacon.last_by('os_name', by_start) }} as os_name,
        {{ beacon.last_by('browser_name', by_start) }} as browser_name,
        {{ dbt.bool_or('is_bot') }} as is_bot,
        max(visitor_loaded_at) as visitor_loaded_at

    from sessions_with_utm
    group by anonymous_id, project_id

)

select * from final
