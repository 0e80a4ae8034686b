with

source as (

    select * from {{ source('raw', 'events') }}

),

renamed as (

    select
        project_id,
        message_id,
        source_shape,
        event_type,
        event_name,
        is_page_view,
        is_identify,
        is_scroll,
        is_click,
        cta_label,
        anonymous_id,
        user_id,
        client_session_id,
        {{ beacon.skew_corrected_time('event_at', 'client_event_at', 'sent_at', 'received_at') }} as event_at,
        client_event_at,
        sent_at,
        received_at,
        page_url,
        page_path,
        page_title,
        page_referrer as referrer,
        user_agent,
        ip,
        locale,
        timezone as client_timezone,
        screen_width,
        screen_height,
        scroll_pct,
        platform,
        channel as client_channel,
        library_name,
        library_version,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_content,
        utm_term,
        utm_id,
        utm_campaign_id,
        utm_adset_id,
        utm_ad_id,
        utm_placement,
        fbclid,
        -- raw.events.revenue is left out: int_events_classified reads revenue from properties with
        -- the project's current revenue_property.
        properties,
        traits,
        load_id,
        line_number,
        loaded_at

    from source

)

select * from renamed
