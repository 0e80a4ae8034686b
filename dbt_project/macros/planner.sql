{#- Planner guidance for models whose intermediate results are CTEs without statistics: the
    PostgreSQL planner then guesses a handful of rows and may choose nested loops over scans of
    hundreds of thousands of rows. Hash and merge joins are safe at any size here. `set local`
    lasts for the model's own transaction only. A pre_hook, so other engines can return ''. -#}
{% macro avoid_nested_loops() %}
    {{ return(adapter.dispatch('avoid_nested_loops', 'beacon')()) }}
{% endmacro %}
{% macro postgres__avoid_nested_loops() %}set local enable_nestloop = off{% endmacro %}
{% macro default__avoid_nested_loops() %}{% endmacro %}

{#- A pre_hook for whole builds that read `relation` in the order of its index led by `column`,
    the order the table is stored in (fct_sessions reads fct_events session by session): the
    planner estimates that index scan dearer than scanning the table and sorting it again, which
    measured slower (at 10M events a sort of 10M wide rows, ~40 s more, on both cores). Only
    while the table is still stored in that order (the column's correlation in the statistics,
    1 after a whole build): rows inserted later go elsewhere, and read through the index out of
    order the pages would come in random order. Incremental runs read a few visitors and sort
    them as the planner likes. -#}
{% macro read_in_index_order(relation, column) %}
    {%- if not is_incremental() -%}
        {{ return(adapter.dispatch('read_in_index_order', 'beacon')(relation, column)) }}
    {%- endif -%}
{% endmacro %}
{% macro postgres__read_in_index_order(relation, column) -%}
do $$
begin
    if (select correlation from pg_stats
        where schemaname = '{{ relation.schema }}' and tablename = '{{ relation.identifier }}'
            and attname = '{{ column }}') > 0.9 then
        perform set_config('enable_sort', 'off', true);  -- true: for this transaction only
    end if;
end
$$
{%- endmacro %}
{% macro default__read_in_index_order(relation, column) %}{% endmacro %}

{#- Fresh statistics for a table just built, so the models reading it next get good plans (a
    table dbt has just created has none until autovacuum gets to it). Views are skipped.

    A run that changed more than a tenth of the rows (autovacuum's own rule) analyzes the whole
    table; a smaller incremental run analyzes only its watermark columns (the `*loaded_at` and
    changed_at ones): the next models select the rows above a watermark, and without the new
    values in the statistics the planner expects one row and may join thousands in nested
    loops. Analyzing all of a 10M-row table costs seconds (and waits for autovacuum when it is
    at the table): a small run's time would grow with the history (analyze_sampled below
    keeps the sample small too). The server finds the
    watermark columns itself (pg_attribute): asking dbt for the table's columns would cost a
    round trip and a catalog query for every model of every build. -#}
{% macro analyze_table() %}
    {%- if model.config.materialized in ('table', 'incremental', 'seed') or model.resource_type == 'seed' -%}
        {{ return(adapter.dispatch('analyze_table', 'beacon')(this)) }}
    {%- endif -%}
{% endmacro %}
{% macro postgres__analyze_table(relation) -%}
do $$
declare
    rows_now real;
    rows_changed bigint;
    watermarks text;
begin
    -- This run's changes only: its analyze sees its own rows (the counts reach
    -- pg_stat_user_tables at commit, after it).
    select tables.reltuples,
           coalesce(changes.n_tup_ins + changes.n_tup_upd + changes.n_tup_del, 0)
    into rows_now, rows_changed
    from pg_class as tables
    left join pg_stat_xact_user_tables as changes on changes.relid = tables.oid
    where tables.oid = '{{ relation }}'::regclass;
    select string_agg(quote_ident(attname), ', ' order by attnum)
    into watermarks
    from pg_attribute
    where attrelid = '{{ relation }}'::regclass and attnum > 0 and not attisdropped
        and attname in ('visitor_loaded_at', 'loaded_at', 'last_loaded_at', 'changed_at');
    if rows_now < 0 or rows_changed > 50 + 0.1 * rows_now then
        analyze {{ relation }};
    elsif rows_changed > 0 and watermarks is not null then
        {{ beacon.analyze_sampled(relation, 'watermarks') }}
    end if;
end
$$
{%- endmacro %}
{% macro default__analyze_table(relation) %}{% endmacro %}


{#- on-run-start: fresh statistics for raw.events when rows were loaded (or deleted) since it
    was last analyzed, before any model plans a query on it (the loaders leave that to the build
    that reads the rows: several loads may come before it). As for the models (analyze_table):
    the whole table after loads of more than a tenth of its rows, else loaded_at alone
    (analyze_sampled): at 10M events the whole table's sample cost ~5 s of every incremental
    run. -#}
{% macro analyze_changed_raw_events() %}
    {{ return(adapter.dispatch('analyze_changed_raw_events', 'beacon')()) }}
{% endmacro %}
{% macro postgres__analyze_changed_raw_events() -%}
do $$
declare
    rows_now real;
    rows_changed bigint;
begin
    select tables.reltuples, changes.n_mod_since_analyze
    into rows_now, rows_changed
    from pg_stat_user_tables as changes
    inner join pg_class as tables on tables.oid = changes.relid
    where changes.schemaname = 'raw' and changes.relname = 'events';
    if rows_changed > 50 + 0.1 * greatest(rows_now, 0) then
        analyze raw.events;
    elsif rows_changed > 0 then
        {{ beacon.analyze_sampled('raw.events', "'loaded_at'") }}
    end if;
end
$$
{%- endmacro %}
{% macro default__analyze_changed_raw_events() %}{% endmacro %}


{#- Inside a DO block: ANALYZE of the watermark `columns` (a text expression: a list of quoted
    names) of `relation`, after a small change, from 3,000 rows (statistics target 10 for this
    ANALYZE alone) rather than the default 30,000. The sample reads up to one page per row, and
    at 10M events the large tables hold more pages than that (~0.7-1 s each); a few thousand rows
    show well enough how many lie above a watermark. -#}
{% macro analyze_sampled(relation, columns) -%}
declare
            saved_target text := current_setting('default_statistics_target');
        begin
            perform set_config('default_statistics_target', '10', true);
            execute format('analyze %s (%s)', '{{ relation }}', {{ columns }});
            perform set_config('default_statistics_target', saved_target, true);
        end;
{%- endmacro %}
