{#- The marketing channel of an event, from its UTM parameters and external referrer, using the
    traffic_sources and utm_mediums seeds (columns of int_events_enriched). First rule wins:
      Paid Social     a utm_ad_id (our ad ids are Facebook's), or a paid medium from a social source
      Paid Search     a paid medium from a search source
      Display         a display/banner medium
      Paid Other      any other paid medium
      Email           an email medium or source
      Affiliate       an affiliate medium
      Organic Social  a social medium, a social utm_source, an fbclid, or a social referrer
      Organic Video   a video utm_source or referrer (YouTube, Vimeo)
      Organic Search  a search utm_source or referrer
      Referral        a referral medium, or any other external referrer
      Other Campaign  other UTM-tagged traffic
      Direct          nothing of the above -#}
{% macro channel_group() -%}
    case
        when utm_ad_id is not null
            or (utm_medium_type = 'paid' and coalesce(utm_source_type, referrer_source_type) = 'social')
            then 'Paid Social'
        when utm_medium_type = 'paid' and coalesce(utm_source_type, referrer_source_type) = 'search'
            then 'Paid Search'
        when utm_medium_type = 'display' then 'Display'
        when utm_medium_type = 'paid' then 'Paid Other'
        when utm_medium_type = 'email' or utm_source_type = 'email' then 'Email'
        when utm_medium_type = 'affiliate' then 'Affiliate'
        when utm_medium_type = 'social' or utm_source_type = 'social' or fbclid is not null
            or referrer_source_type = 'social'
            then 'Organic Social'
        when utm_source_type = 'video' or referrer_source_type = 'video' then 'Organic Video'
        when utm_source_type = 'search' or referrer_source_type = 'search' then 'Organic Search'
        when utm_medium_type = 'referral' or referrer_host is not null then 'Referral'
        when utm_source is not null or utm_medium is not null or utm_campaign is not null
            then 'Other Campaign'
        else 'Direct'
    end
{%- endmacro %}
