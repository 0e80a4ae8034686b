{#- Incremental runs re-derive whole visitors (SPEC 5.2: stitching, bots and first/last UTM are
    retroactive). Every incremental model keeps a watermark column: the latest raw.events.loaded_at
    it has processed for a visitor. The next run takes what was loaded after it, less the
    `events_lookback_minutes` var, so rows committed late by a concurrent load are still seen;
    re-reading rows inside the lookback is harmless (they are deduplicated). -#}
{#- The watermark is looked up when the model runs and written into its SQL as a literal: the
    planner then sees how few rows lie above it and reads them through the column's index, where
    a subquery would leave it guessing a third of the table. (In unit tests `this` is a CTE of
    the test's rows, so there it stays a subquery.) -#}
{% macro incremental_watermark(column) -%}
    {%- set latest = 'coalesce(max(' ~ column ~ '), ' ~ beacon.timestamp_literal('1900-01-01T00:00:00+00:00') ~ ')' -%}
    {%- if execute and '__dbt__cte__' not in (this | string) -%}
        {%- if not beacon.has_column(this, column) -%}
            {#- A table built before the model kept this column: everything is new to it. -#}
            {{ return(beacon.timestamp_literal('1900-01-01T00:00:00+00:00')) }}
        {%- endif -%}
        {%- set found = run_query('select ' ~ beacon.timestamp_iso(latest) ~ ' from ' ~ this) -%}
        {%- set latest = beacon.timestamp_literal(found.rows[0][0]) -%}
    {%- else -%}
        {%- set latest = '(select ' ~ latest ~ ' from ' ~ this ~ ')' -%}
    {%- endif -%}
    {{ dbt.dateadd('minute', -1 * var('events_lookback_minutes'), latest) }}
{%- endmacro %}

{% macro timestamp_literal(value) %}
    {{ return(adapter.dispatch('timestamp_literal', 'beacon')(value)) }}
{% endmacro %}
{% macro postgres__timestamp_literal(value) -%}
    cast('{{ value }}' as timestamp with time zone)
{%- endmacro %}

{% macro type_timestamptz() %}
    {{ return(adapter.dispatch('type_timestamptz', 'beacon')()) }}
{% endmacro %}
{% macro postgres__type_timestamptz() %}timestamp with time zone{% endmacro %}

{#- The post-hook of a mart of days recomputed incrementally: a day (the mart's `columns`) with
    no matching row left in `relation` (`matching` names its column for each of them, `where`
    narrows its rows) has no row in a full build, so it must go. fct_daily_rollups: a day whose
    every session merged into an earlier day's (a late event bridged them); fct_funnel_daily: an
    entry day whose every entry turned out a bot. An index lookup per row of the mart. -#}
{% macro delete_days_without(relation, matching, where='true') -%}
    delete from {{ this }} as days
    where not exists (
        select 1 from {{ relation }} as source_rows
        where {% for column, source_column in matching.items() -%}
            source_rows.{{ source_column }} = days.{{ column }} and {% endfor %}({{ where }})
    )
{%- endmacro %}

{#- The rows of `rows` (a CTE of whole re-derived visitors) with `changed_at`: the
    visitor_loaded_at with which each last changed. A row whose `key_columns` equal a row the
    model built before, and whose `compared_columns` are not distinct from that row's (two nulls
    match), keeps that row's changed_at, so downstream marts recompute only what did change, not
    every day of every returning visitor. Rows of a table built before it had changed_at count
    as changed. -#}
{% macro with_changed_at(rows, key_columns, compared_columns) -%}
    {%- if is_incremental() and beacon.has_column(this, 'changed_at') -%}
    {%- set matched = key_columns + compared_columns -%}
    with rederived_visitors as (
        select distinct project_id, anonymous_id from {{ rows }}
    ),
    previous_rows as (
        {{ beacon.rows_of_visitors(this, 'rederived_visitors', matched + ['changed_at']) }}
    )
    select {{ rows }}.*, coalesce(previous_rows.changed_at, {{ rows }}.visitor_loaded_at) as changed_at
    from {{ rows }}
    left join previous_rows
        on {% for column in matched -%}
        {{ rows }}.{{ column }} {{ '=' if column in key_columns else 'is not distinct from' }} previous_rows.{{ column }}
        {%- if not loop.last %}
        and {% endif %}{% endfor %}
    {%- else -%}
    select {{ rows }}.*, {{ rows }}.visitor_loaded_at as changed_at
    from {{ rows }}
    {%- endif %}
{%- endmacro %}

{#- The rows of `relation` that belong to the visitors listed in `visitors` (a relation or CTE of
    project_id, anonymous_id): an incremental run reads back the history of the visitors it
    re-derives, a few thousand of them against millions of rows. On PostgreSQL a lateral join
    makes that one (project_id, anonymous_id) index lookup per visitor whatever the planner
    estimates (it cannot count the distinct visitors of rows it has not read yet, guesses tens
    of thousands, and with a plain join reads the whole table); `offset 0` keeps the planner
    from flattening the lateral subquery back into such a join. -#}
{% macro rows_of_visitors(relation, visitors, columns) %}
    {{ return(adapter.dispatch('rows_of_visitors', 'beacon')(relation, visitors, columns)) }}
{% endmacro %}

{% macro postgres__rows_of_visitors(relation, visitors, columns) -%}
    select {% for column in columns %}visitor_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ visitors }}
    cross join lateral (
        select * from {{ relation }} as candidate
        where candidate.project_id = {{ visitors }}.project_id
            and candidate.anonymous_id = {{ visitors }}.anonymous_id
        offset 0
    ) as visitor_rows
{%- endmacro %}

{% macro default__rows_of_visitors(relation, visitors, columns) -%}
    select {% for column in columns %}visitor_rows.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
    from {{ relation }} as visitor_rows
    inner join {{ visitors }}
        on visitor_rows.project_id = {{ visitors }}.project_id
        and visitor_rows.anonymous_id = {{ visitors }}.anonymous_id
{%- endmacro %}

{#- dbt's delete+insert, its delete made one index lookup per replaced key. dbt deletes
    `where (keys) in (select distinct keys from <new rows>)`, which PostgreSQL runs as a hash
    join over the whole target whenever it overestimates the rows per key: ANALYZE samples whole
    pages, and the marts are stored sorted by visitor, so it sees few visitors and guesses ~200
    rows each where there are ~10. At 10M events that delete read all 6 GB of fct_events (~40 s
    for a day's 30k visitors). As in rows_of_visitors, a lateral lookup per key (`offset 0` keeps
    it from being flattened back into a join) finds the rows, deleted by ctid. That takes an
    index led by the unique_key: every delete+insert model declares one (a test checks), and a
    table without it (built before the index was declared) keeps dbt's delete. -#}
{% macro postgres__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if not keys or incremental_predicates or not beacon.has_index_led_by(target, keys) -%}
        {{ return(dbt.default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates)) }}
    {%- endif -%}
    {%- set dest_cols_csv = get_quoted_csv(dest_columns | map(attribute='name')) -%}
    delete from {{ target }} as replaced
    using (
        select key_rows.ctid as row_id
        from (select distinct {{ keys | join(', ') }} from {{ source }}) as new_keys
        cross join lateral (
            select ctid from {{ target }} as candidate
            where {% for key in keys %}candidate.{{ key }} = new_keys.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
            offset 0
        ) as key_rows
    ) as doomed
    where replaced.ctid = doomed.row_id;

    insert into {{ target }} ({{ dest_cols_csv }})
    (
        select {{ dest_cols_csv }}
        from {{ source }}
    )
{%- endmacro %}

{#- Whether `relation` has an index whose leading columns are `columns`, in any order. -#}
{% macro has_index_led_by(relation, columns) %}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set wanted = "array['" ~ (columns | join("', '")) ~ "']::name[]" -%}
    {%- set found = run_query(
        "select exists (select 1 from pg_index, lateral (select array(select attname"
        ~ " from unnest((indkey::int2[])[0:" ~ (columns | length - 1) ~ "]) as key(attnum)"
        ~ " join pg_attribute on attrelid = indrelid and pg_attribute.attnum = key.attnum)"
        ~ " as leads) as index_columns"
        ~ " where indrelid = '" ~ relation ~ "'::regclass"
        ~ " and leads @> " ~ wanted ~ " and leads <@ " ~ wanted ~ ")") -%}
    {{ return(found.rows[0][0]) }}
{% endmacro %}

{#- Whether the table `relation` has `column` (a model's new column before its first run). -#}
{% macro has_column(relation, column) %}
    {%- if '__dbt__cte__' in (relation | string) -%}{{ return(true) }}{%- endif -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {{ return(column in names) }}
{% endmacro %}

{#- A post-hook: after the full build of an incremental model, which packs its pages full, its
    table keeps a tenth of each page free of later inserts (fillfactor 90). Why: VACUUM records
    each packed page's slack (up to ~1.5 KB) in the free space map, and an insert takes the first
    page that map offers. The next run's new rows then went one by one into old pages, each
    of which, on its first change after a checkpoint, is written whole to the WAL: at 10M events
    a day's 318k fct_events rows landed in 135k pages, 1.1 GB of page images (insert 18.3 s;
    6.2 s with the reserve). Now only fresh pages and pages vacuum freed take them; pages of
    later runs are filled to 90%. Incremental runs issue nothing: a table built before this
    hook gets it at its next full refresh. -#}
{% macro reserve_page_space(fillfactor=90) %}
    {%- if model.config.materialized == 'incremental' and not is_incremental() -%}
        {{ return(adapter.dispatch('reserve_page_space', 'beacon')(this, fillfactor)) }}
    {%- endif -%}
{% endmacro %}
{% macro postgres__reserve_page_space(relation, fillfactor) -%}
alter table {{ relation }} set (fillfactor = {{ fillfactor }})
{%- endmacro %}
{% macro default__reserve_page_space(relation, fillfactor) %}{% endmacro %}
