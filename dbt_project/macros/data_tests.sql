{#- Data tests that scale with the new rows, not with the history.

    A test whose `where` config holds `__written_since_verified__(<column>)` checks only the rows
    whose <column> (a raw.events loaded_at: `loaded_at`, or `visitor_loaded_at` in the incremental
    models) is later than the start of the last run in which this same test passed, less the
    `events_lookback_minutes` var. Incremental models rewrite a visitor's rows whole and give them
    a new `visitor_loaded_at`, and raw.events only grows, so every row has been checked by a
    passing run since it was last written: the guarantee is the whole table's, at the cost of the
    rows the run wrote. A failing test keeps its old mark, so the next run checks those rows
    again. A full refresh checks every row of what it rebuilds (tests over the staging views of
    raw tables keep their marks: no dbt run writes raw rows), and
    `--vars '{data_tests_check_every_row: true}'` checks every row of everything.

    Each run notes its start on the database (on-run-start) and, at its end, the tests that
    passed (on-run-end), in `<target schema>.beacon_data_test_marks`. -#}

{% macro written_since_verified_token() %}__written_since_verified__({% endmacro %}

{#- dbt's own macro, with the token above resolved; called at run time for every generic test. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set token = beacon.written_since_verified_token() -%}
    {%- if where and token in where -%}
        {%- set column = where.split(token)[1].split(')')[0] -%}
        {%- set where = where.replace(token ~ column ~ ')', beacon.written_since_verified(column)) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The condition on `column` for the test being compiled. -#}
{% macro written_since_verified(column) -%}
    {{ return(beacon.written_since(column, beacon.verified_since(model))) }}
{%- endmacro %}

{#- The same from a `since` of verified_since() (a singular test filtering several tables looks
    it up once). -#}
{% macro written_since(column, since) -%}
    {%- if since is none -%}
        (1 = 1)
    {%- else -%}
        ({{ column }} > {{ dbt.dateadd('minute', -1 * var('events_lookback_minutes'),
                                       beacon.timestamp_literal(since)) }})
    {%- endif -%}
{%- endmacro %}

{#- The start of the last run in which the test passed, as an ISO string; none to check every
    row (the var, a full refresh unless the test reads raw rows only, a test that never passed,
    and at parse time). -#}
{% macro verified_since(test) %}
    {%- if not execute or var('data_tests_check_every_row', false) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH and not beacon.reads_raw_rows_only(test) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set marks = beacon.data_test_marks() -%}
    {%- if not adapter.get_relation(database=marks.database, schema=marks.schema, identifier=marks.identifier) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set found = run_query(
        "select " ~ beacon.timestamp_iso('passed_run_started_at') ~ " from " ~ marks
        ~ " where test_id = '" ~ test.unique_id ~ "'") -%}
    {{ return(found.rows[0][0] if found.rows else none) }}
{% endmacro %}

{#- Whether a test reads only the staging views of raw tables (stg_raw__*): their rows are the
    loaders' rows, which a full refresh does not rebuild, so its marks stay valid through one
    (at 10M events, re-checking raw.events took a minute per test on every full build). -#}
{% macro reads_raw_rows_only(node) %}
    {%- set staging = 'model.' ~ project_name ~ '.stg_raw__' -%}
    {%- set found = namespace(raw_only=node.depends_on.nodes | length > 0) -%}
    {%- for dependency in node.depends_on.nodes if not dependency.startswith(staging) -%}
        {%- set found.raw_only = false -%}
    {%- endfor -%}
    {{ return(found.raw_only) }}
{% endmacro %}

{#- Beacon's own bookkeeping tables live in the target schema, beside no model. -#}
{% macro bookkeeping_table(identifier) %}
    {{ return(api.Relation.create(database=target.database, schema=target.schema,
                                  identifier=identifier)) }}
{% endmacro %}

{% macro data_test_marks() %}
    {{ return(beacon.bookkeeping_table('beacon_data_test_marks')) }}
{% endmacro %}

{#- on-run-start: this run's start on the database clock (the clock of raw.events.loaded_at).
    A full refresh forgets the marks of the tests over what it rebuilds. -#}
{% macro mark_data_test_run_start() %}
    {{ return(adapter.dispatch('mark_data_test_run_start', 'beacon')()) }}
{% endmacro %}

{% macro postgres__mark_data_test_run_start() %}
    {%- set marks = beacon.data_test_marks() -%}
create schema if not exists {{ marks.schema }};
create table if not exists {{ marks }} (
    test_id text primary key,
    passed_run_started_at timestamp with time zone,
    invocation_id text
);
alter table {{ marks }} add column if not exists reads_raw_rows_only boolean not null default false;
{% if flags.FULL_REFRESH %}delete from {{ marks }} where not reads_raw_rows_only;{% endif %}
insert into {{ marks }} (test_id, passed_run_started_at, invocation_id)
values ('run:{{ invocation_id }}', now(), '{{ invocation_id }}')
{% endmacro %}

{#- on-run-end: every test that passed in this run is marked with the run's start. -#}
{% macro mark_passed_data_tests(results) %}
    {{ return(adapter.dispatch('mark_passed_data_tests', 'beacon')(results)) }}
{% endmacro %}

{% macro postgres__mark_passed_data_tests(results) %}
    {%- set marks = beacon.data_test_marks() -%}
    {%- set passed = [] -%}
    {%- for result in results -%}
        {%- if result.node.resource_type == 'test' and result.status == 'pass' -%}
            {%- do passed.append("('" ~ result.node.unique_id ~ "', "
                                 ~ beacon.reads_raw_rows_only(result.node) ~ ")") -%}
        {%- endif -%}
    {%- endfor -%}
{% if passed %}
insert into {{ marks }} (test_id, passed_run_started_at, invocation_id, reads_raw_rows_only)
select passed.test_id, run.passed_run_started_at, run.invocation_id, passed.reads_raw_rows_only
from (values {{ passed | join(', ') }}) as passed (test_id, reads_raw_rows_only)
cross join {{ marks }} as run
where run.test_id = 'run:{{ invocation_id }}'
on conflict (test_id) do update
    set passed_run_started_at = excluded.passed_run_started_at,
        invocation_id = excluded.invocation_id,
        reads_raw_rows_only = excluded.reads_raw_rows_only;
{% endif %}
delete from {{ marks }} where test_id = 'run:{{ invocation_id }}'
{% endmacro %}

{% macro timestamp_iso(column) %}
    {{ return(adapter.dispatch('timestamp_iso', 'beacon')(column)) }}
{% endmacro %}
{% macro postgres__timestamp_iso(column) -%}
    to_char({{ column }} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
{%- endmacro %}

{#- Called at the top of a singular data test over fct_events: the test depends on
    fct_funnel_daily as well, a mart none of the others descend from, so that it runs beside
    the marts after fct_events instead of holding them back. dbt build makes a node wait for a
    test only when the node descends from everything the test reads; a failure still fails the
    run. (At 10M events, on a slow spell, the two such tests held up fct_events' children
    2.4 s and 2.8 s.) -#}
{% macro holds_up_no_mart() -%}
    -- depends_on: {{ ref('fct_funnel_daily') }}
{%- endmacro %}
