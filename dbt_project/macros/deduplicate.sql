{#- SPEC 4 dedup: one event per (project_id, message_id), the first copy loaded kept. The raw
    layer's primary key (event_key, a uuid of md5(project_id || '\n' || message_id)) already
    guarantees it within raw.events; int_identifies keeps this as its guard. fct_events, whose
    incremental runs meet rows they built before, drops the later copies by an anti-join on its
    primary key instead, which sorts none of its wide rows. -#}
{% macro first_copy_per_message(relation, columns) -%}
    select {{ columns | join(', ') }}
    from (
        select
            {{ relation }}.*,
            row_number() over (
                partition by project_id, message_id
                order by loaded_at, load_id, line_number
            ) as copy_number
        from {{ relation }}
    ) as numbered_copies
    where copy_number = 1
{%- endmacro %}
