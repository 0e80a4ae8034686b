{#- The host of a URL, lowercase, without port or a leading `www.`; null when there is none.
    Built from dbt.split_part so it stays portable and cheap (no regular expression per row). -#}
{% macro url_host(url) -%}
    nullif(
        {{ dbt.split_part(dbt.split_part(dbt.split_part(dbt.split_part(dbt.split_part(
            'lower(' ~ url ~ ')', "'://'", 2), "'/'", 1), "'?'", 1), "'#'", 1), "':'", 1) }},
        ''
    )
{%- endmacro %}

{% macro strip_www(host) -%}
    case when {{ host }} like 'www.%' then substring({{ host }}, 5) else {{ host }} end
{%- endmacro %}
