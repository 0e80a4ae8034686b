{#- The per-event columns fct_events carries from int_events_enriched unchanged; an incremental
    run reads them back from fct_events for the visitors it re-derives. -#}
{% macro event_columns() -%}
    {{ return([
        'project_id', 'message_id', 'source_shape', 'event_type', 'event_name',
        'is_page_view', 'is_scroll', 'is_click', 'is_conversion', 'cta_label',
        'anonymous_id', 'event_user_id', 'client_session_id',
        'event_at', 'event_date', 'client_event_at', 'sent_at', 'received_at',
        'page_url', 'page_path', 'page_title', 'referrer', 'referrer_host', 'channel_group',
        'utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'utm_id',
        'utm_campaign_id', 'utm_adset_id', 'utm_ad_id', 'utm_placement', 'fbclid',
        'user_agent', 'device_type', 'os_name', 'browser_name', 'is_bot_agent',
        'platform', 'locale', 'client_timezone', 'client_channel', 'screen_width', 'screen_height',
        'scroll_pct', 'library_name', 'library_version', 'revenue', 'properties',
        'load_id', 'line_number', 'loaded_at',
    ]) }}
{%- endmacro %}
