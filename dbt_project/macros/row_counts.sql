{#- Exact row counts of the marts (Dagster's dagster/row_count), kept without counting: each
    build adds the rows its transaction inserted less those it deleted (the transaction's own
    statistics, pg_stat_xact_user_tables). A count(*) of every mart after every run read the
    whole history (~7 s at 10M events). Keyed by the table's oid: a table dbt rebuilt is a new
    table, whose count starts over (record_row_count). A post-hook of every mart, and again
    after a model's own post-hooks that change rows: within one transaction it recomputes,
    never adds twice. -#}
{% macro row_counts_table() %}
    {{ return(beacon.bookkeeping_table('beacon_row_counts')) }}
{% endmacro %}

{#- on-run-start: the table, without the rows of tables that no longer exist. -#}
{% macro ensure_row_counts() %}
    {{ return(adapter.dispatch('ensure_row_counts', 'beacon')()) }}
{% endmacro %}
{% macro postgres__ensure_row_counts() %}
    {%- set counts = beacon.row_counts_table() -%}
create schema if not exists {{ counts.schema }};
create table if not exists {{ counts }} (
    relid oid primary key,
    rows_before bigint not null,  -- the count before the transaction that counted last
    row_count bigint not null,
    counted_in xid8 not null
);
delete from {{ counts }} where not exists (select from pg_class where pg_class.oid = relid)
{% endmacro %}

{#- A table this run built anew (a full build, a table model) holds only the rows its
    transaction inserted: they are its count, with no count(*) of it (at 10M events 2 s for
    fct_events). A table counted for the first time otherwise is counted in full. -#}
{% macro record_row_count() %}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        {{ return(adapter.dispatch('record_row_count', 'beacon')(this, not is_incremental())) }}
    {%- endif -%}
{% endmacro %}
{% macro postgres__record_row_count(relation, built_anew) -%}
    {%- set counts = beacon.row_counts_table() -%}
    {#- The count of a table not counted before: what this run inserted, or all of it. -#}
    {%- set first_count = 'rows_changed' if built_anew else '(select count(*) from ' ~ relation ~ ')' -%}
do $$
declare
    rows_changed bigint;
    rows_before_now bigint;  -- called again in one transaction: the count before it, as stored
begin
    select coalesce(sum(n_tup_ins - n_tup_del), 0) into rows_changed
    from pg_stat_xact_user_tables where relid = '{{ relation }}'::regclass;
    select case when counted_in = pg_current_xact_id() then rows_before else row_count end
    into rows_before_now
    from {{ counts }} where relid = '{{ relation }}'::regclass;
    if found then
        update {{ counts }}
        set rows_before = rows_before_now,
            row_count = rows_before_now + rows_changed,
            counted_in = pg_current_xact_id()
        where relid = '{{ relation }}'::regclass;
    else
        insert into {{ counts }} (relid, rows_before, row_count, counted_in)
        select '{{ relation }}'::regclass, total - rows_changed, total, pg_current_xact_id()
        from (select {{ first_count }} as total) as counted;
    end if;
end
$$
{%- endmacro %}
