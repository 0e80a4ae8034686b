{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['project_id', 'anonymous_id'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['anonymous_id', 'project_id']},
            {'columns': ['visitor_loaded_at']},
            {'columns': ['changed_at']},
        ],
    )
}}

{#- One row per session of fct_sessions with a fingerprint of everything in it but
    visitor_loaded_at, and `changed_at`: the visitor_loaded_at with which it last changed.
    An incremental run re-derives whole visitors, and all their sessions get a new
    visitor_loaded_at, old and unchanged ones too: this tells fct_daily_rollups which sessions
    did change (an event added, merged, re-stitched, turned bot...), so that it recomputes only
    their days. -#}

{%- set fingerprinted_columns = [] -%}
{%- if execute -%}
    {%- for column in adapter.get_columns_in_relation(ref('fct_sessions')) -%}
        {%- if column.name != 'visitor_loaded_at' -%}
            {%- do fingerprinted_columns.append(column.name) -%}
        {%- endif -%}
    {%- endfor -%}
{%- else -%}
    {%- do fingerprinted_columns.append('session_id') -%}
{%- endif %}

with

sessions as (

    select * from {{ ref('fct_sessions') }}
    {% if is_incremental() %}
    where visitor_loaded_at > {{ beacon.incremental_watermark('visitor_loaded_at') }}
    {% endif %}

),

fingerprinted as (

    select
        project_id,
        anonymous_id,
        session_id,
        started_date,
        ended_date,
        visitor_loaded_at,
        {{ beacon.row_fingerprint(fingerprinted_columns) }} as fingerprint

    from sessions

),

final as (

    {{ beacon.with_changed_at('fingerprinted', ['project_id', 'anonymous_id', 'session_id'], ['fingerprint']) }}

)

select * from final
