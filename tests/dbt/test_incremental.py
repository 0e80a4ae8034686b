"""Incremental runs give the marts a full refresh gives (SPEC 5.2, issue 5).

The package fixture loads the dataset in two loads with an incremental build after each
(the second load brings late events that merge sessions, stitch a user and turn a visitor
into a bot), copies the marts aside, then rebuilds with --full-refresh: the two must agree
row for row, EXCEPT ALL both ways.
"""

from __future__ import annotations

import json
from datetime import date
from types import SimpleNamespace

import jinja2
import pytest

from ingestion.config import REPO_ROOT
from tests.dbt.conftest import INCREMENTAL_COPY, MARTS, BuiltWarehouse
from tests.dbt.dataset import FIRST_LOAD_AT, SECOND_LOAD_AT


def differences(
    warehouse: BuiltWarehouse, mart: str, other_schema: str, where: str = "true"
) -> list[tuple]:
    """The rows (those satisfying `where`) of marts.<mart> and <other_schema>.<mart> that the
    other lacks, in every column but changed_at: when a row last changed depends on the builds
    that made it (a full refresh changes every row at once) by design."""
    columns = ", ".join(
        name
        for (name,) in warehouse.rows(
            "select column_name from information_schema.columns"
            " where table_schema = 'marts' and table_name = %s and column_name <> 'changed_at'"
            " order by ordinal_position",
            (mart,),
        )
    )
    return warehouse.rows(
        f"(select 'full refresh only', {columns} from marts.{mart} where {where}"
        f" except all select 'full refresh only', {columns} from {other_schema}.{mart}"
        f" where {where})"
        f" union all (select 'incremental only', {columns} from {other_schema}.{mart}"
        f" where {where}"
        f" except all select 'incremental only', {columns} from marts.{mart} where {where})"
    )


@pytest.mark.parametrize("mart", MARTS)
def test_incremental_marts_equal_full_refresh(warehouse: BuiltWarehouse, mart: str) -> None:
    (count,) = warehouse.rows(f"select count(*) from marts.{mart}")[0]
    assert count > 0
    assert differences(warehouse, mart, INCREMENTAL_COPY) == []


def test_second_load_rederived_the_visitors_it_touched(warehouse: BuiltWarehouse) -> None:
    """The incremental copy shows the retroactive changes, not only the new rows."""
    changed = warehouse.rows(
        f"select anonymous_id, count(*), bool_and(is_bot), min(user_id)"
        f" from {INCREMENTAL_COPY}.fct_sessions"
        f" where anonymous_id in ('anon-dave', 'anon-bot', 'anon-alice', 'anon-erin')"
        f" group by anonymous_id order by anonymous_id"
    )
    assert changed == [
        ("anon-alice", 2, False, "user-alice"),  # guest-1 before the identify came
        ("anon-bot", 1, True, None),  # flagged by its late purchase's user agent
        ("anon-dave", 1, False, "user-dave"),  # the late skewed page view merged into one
        ("anon-erin", 1, False, None),  # the late page view bridged two local days
    ]


def test_funnels_recompute_the_days_of_changed_entries(warehouse: BuiltWarehouse) -> None:
    """The second load re-derives alice, whose checkout entry of the 6th reaches step 3 (the
    purchase) while steps 1 and 2 stay as they were, and turns anon-bot, also entered on the 6th,
    into a bot: the 6th is recomputed. Nothing changed on the 7th: its rows stay as built first."""
    reached = warehouse.rows(
        f"select anonymous_id, step_number, changed_at, visitor_loaded_at"
        f" from {INCREMENTAL_COPY}.int_funnel_steps_reached"
        f" where funnel_name = 'checkout' and entry_date = '2025-01-06'"
        f" order by anonymous_id, step_number"
    )
    assert reached == [
        ("anon-alice", 1, FIRST_LOAD_AT, SECOND_LOAD_AT),  # re-derived, unchanged
        ("anon-alice", 2, FIRST_LOAD_AT, SECOND_LOAD_AT),
        ("anon-alice", 3, SECOND_LOAD_AT, SECOND_LOAD_AT),
        ("anon-bot", 1, SECOND_LOAD_AT, SECOND_LOAD_AT),  # now flagged a bot
    ]
    days = warehouse.rows(
        f"select entry_date, min(visitor_loaded_at), max(visitor_loaded_at)"
        f" from {INCREMENTAL_COPY}.fct_funnel_daily where funnel_name = 'checkout'"
        f" group by entry_date order by entry_date"
    )
    assert days == [
        (date(2025, 1, 6), SECOND_LOAD_AT, SECOND_LOAD_AT),
        (date(2025, 1, 7), FIRST_LOAD_AT, FIRST_LOAD_AT),
    ]


def test_rollups_recompute_changed_days_and_drop_emptied_ones(warehouse: BuiltWarehouse) -> None:
    """The second load re-derives bob, whose session of the 7th (Berlin) comes out as it was:
    it keeps its changed_at, so the 7th is not recomputed, only its visitor_loaded_at moves on.
    Erin's session of the 13th merges into the 12th's, leaving the 13th empty: the first build
    had a row for it, the incremental one deleted it (and agrees with the full refresh, above)."""
    sessions = warehouse.rows(
        f"select started_date, changed_at, visitor_loaded_at"
        f" from {INCREMENTAL_COPY}.fct_sessions"
        f" where anonymous_id = 'anon-bob' order by started_date"
    )
    assert sessions == [
        (date(2025, 1, 7), FIRST_LOAD_AT, SECOND_LOAD_AT),  # re-derived, unchanged
        (date(2025, 1, 8), SECOND_LOAD_AT, SECOND_LOAD_AT),
        (date(2025, 1, 9), SECOND_LOAD_AT, SECOND_LOAD_AT),
    ]
    day_7 = warehouse.rows(
        f"select visitor_loaded_at from {INCREMENTAL_COPY}.fct_daily_rollups"
        f" where day = '2025-01-07'"
    )
    assert day_7 == [(SECOND_LOAD_AT,)]
    assert date(2025, 1, 13) in warehouse.first_build_rollup_days
    (emptied,) = warehouse.rows(
        f"select count(*) from {INCREMENTAL_COPY}.fct_daily_rollups where day = '2025-01-13'"
    )[0]
    assert emptied == 0


def test_marts_keep_exact_row_counts(warehouse: BuiltWarehouse) -> None:
    """The counts Dagster shows come from beacon_row_counts, kept by each build's own inserts
    and deletes: after the incremental builds (which also deleted an emptied rollup day in a
    post-hook) and after the full refresh, they equal count(*)."""
    assert warehouse.incremental_row_counts["fct_daily_rollups"][1] > 0
    for counts in (warehouse.incremental_row_counts, warehouse.row_counts()):
        assert {mart: kept for mart, (kept, _) in counts.items()} == {
            mart: counted for mart, (_, counted) in counts.items()
        }


def test_lookback_rereads_loaded_events_without_duplicates(warehouse: BuiltWarehouse) -> None:
    """An incremental run whose lookback reaches back over both loads re-reads every event
    and must deduplicate them against the rows already built: the full-refresh marts stay
    exactly as they are. (Runs after the comparisons above: it rebuilds the marts.)"""
    if warehouse.server != "embedded":
        pytest.skip("the same SQL as on the embedded server; one run is enough")
    with warehouse.connection() as conn:
        conn.execute("create schema full_refresh_result")
        for mart in MARTS:
            conn.execute(f"create table full_refresh_result.{mart} as table marts.{mart}")
    warehouse.dbt("run", "--vars", "{events_lookback_minutes: 10000000}")
    for mart in MARTS:
        assert differences(warehouse, mart, "full_refresh_result") == [], mart


def test_identifies_read_through_their_own_index(warehouse: BuiltWarehouse) -> None:
    """int_identifies' incremental filter reaches raw.events' partial index of identifies: a
    watermark lagging far behind (no identify in the latest loads) then costs the identifies
    since, not every event since. (Sequential and bitmap scans are off: the dataset is tiny.)"""
    with warehouse.connection() as conn:
        conn.execute("set enable_seqscan = off; set enable_bitmapscan = off")
        plan = "\n".join(row for (row,) in conn.execute(
            "explain select * from intermediate.int_events_classified"
            " where is_identify and loaded_at > '1900-01-01'"))
    assert "events_identify_loaded_at on events" in plan, plan


def test_a_full_refresh_keeps_the_marks_of_tests_over_raw_rows(warehouse: BuiltWarehouse) -> None:
    """Data tests check the rows written since they last passed (macros/data_tests.sql). A full
    refresh rebuilds the models, so their tests lose their marks; tests over the staging views
    of raw tables keep theirs (no dbt run writes raw rows), so a full build does not re-check
    every raw event. A full refresh of one small view shows which marks each kind keeps."""
    [(schema,)] = warehouse.rows("select table_schema from information_schema.tables"
                                 " where table_name = 'beacon_data_test_marks'")
    marks = (f"select test_id, passed_run_started_at from {schema}.beacon_data_test_marks"
             " where test_id like 'test.beacon.relationships_stg_raw__events_project_id_%%'"
             " or test_id like 'test.beacon.unique_fct_sessions_session_id.%%'")
    before = dict(warehouse.rows(marks))
    assert len(before) == 2
    warehouse.dbt("build", "--full-refresh", "--select", "stg_raw__facebook_ads")
    after = dict(warehouse.rows(marks))
    assert after == {test_id: at for test_id, at in before.items() if "stg_raw__events" in test_id}


def test_the_build_analyzes_the_raw_events_it_reads(warehouse: BuiltWarehouse) -> None:
    """Loads leave statistics to the build: on-run-start analyzes raw.events when modified
    (after a small load, loaded_at alone), so its row count and loaded_at's values include the
    last load."""
    [(counted, loaded_at_values)] = warehouse.rows(
        "select reltuples::bigint = (select count(*) from raw.events),"
        " (select coalesce(most_common_vals::text, '') || coalesce(histogram_bounds::text, '')"
        "  from pg_stats where schemaname = 'raw' and tablename = 'events'"
        "  and attname = 'loaded_at')"
        " from pg_class where oid = 'raw.events'::regclass")
    assert counted
    assert SECOND_LOAD_AT.strftime("%Y-%m-%d") in loaded_at_values


def test_a_small_change_analyzes_the_watermark_columns_alone(
    warehouse: BuiltWarehouse,
) -> None:
    """analyze_table (macros/planner.sql) after the full refresh of the dataset's few dozen
    events (fewer than its 50-row threshold for a whole ANALYZE): the watermark columns the
    server finds in fct_events have statistics, its other columns none."""
    analyzed = warehouse.rows(
        "select attname from pg_stats where schemaname = 'marts' and tablename = 'fct_events'"
        " order by attname")
    assert analyzed == [("loaded_at",), ("visitor_loaded_at",)]


def planner_macros() -> SimpleNamespace:
    """macros/planner.sql's macros, rendered by plain Jinja: they call each other as
    beacon.<name>, and take nothing else from dbt."""
    environment = jinja2.Environment()
    macros = SimpleNamespace()
    environment.globals["beacon"] = macros
    source = (REPO_ROOT / "dbt_project/macros/planner.sql").read_text()
    module = environment.from_string(source).module
    macros.__dict__.update({name: getattr(module, name) for name in dir(module)
                            if not name.startswith("_")})
    return macros


def test_a_small_change_samples_the_watermark_columns_from_3000_rows(
    warehouse: BuiltWarehouse,
) -> None:
    """analyze_table's SQL (macros/planner.sql, rendered for a probe table of 20,000 distinct
    times): after a change below its whole-table threshold, in the change's transaction, the
    watermark column's histogram has the 11 bounds of statistics target 10, not the 101 of the
    default, and the default target (100) is the server's again afterwards."""
    analyze = planner_macros().postgres__analyze_table("analyze_probe.events")
    # Set up on a connection of its own: a backend's counts of its last second's changes are
    # not yet in the server's statistics, and its transaction's own would include them.
    with warehouse.connection() as setup:
        setup.execute("create schema analyze_probe")
        setup.execute("create table analyze_probe.events as select i,"
                      " timestamptz '2026-01-01' + i * interval '1 second' as loaded_at"
                      " from generate_series(1, 20000) as i")
        setup.execute("analyze analyze_probe.events")
    try:
        with warehouse.connection() as conn:
            [(server_target,)] = conn.execute("show default_statistics_target").fetchall()
            with conn.transaction():
                conn.execute("insert into analyze_probe.events select i,"
                             " timestamptz '2026-02-01' + i * interval '1 second'"
                             " from generate_series(1, 500) as i")
                conn.execute(analyze)
                [(target,)] = conn.execute("show default_statistics_target").fetchall()
            [(bounds,)] = conn.execute(
                "select array_length(histogram_bounds::text::text[], 1) from pg_stats"
                " where schemaname = 'analyze_probe' and attname = 'loaded_at'").fetchall()
    finally:
        with warehouse.connection() as conn:
            conn.execute("drop schema analyze_probe cascade")
    assert (bounds, server_target) == (11, "100")
    assert target == server_target


def test_every_delete_insert_model_has_an_index_led_by_its_unique_key(
    warehouse: BuiltWarehouse,
) -> None:
    """Their delete finds the rows to replace by one lookup per key (macros/incremental.sql):
    without such an index each lookup would read the whole table."""
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    models = [
        node for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("incremental_strategy") == "delete+insert"
    ]
    assert {node["name"] for node in models} >= {"fct_events", "int_user_agents_parsed"}
    missing = []
    with warehouse.connection() as conn:
        for node in models:
            key = node["config"]["unique_key"]
            key = [key] if isinstance(key, str) else key
            leads = conn.execute(
                "select array(select attname from unnest((indkey::int2[])[0:%s]) with ordinality"
                " as k(attnum, n) join pg_attribute on attrelid = indrelid"
                " and pg_attribute.attnum = k.attnum order by n)"
                " from pg_index where indrelid = %s::regclass",
                (len(key) - 1, f'{node["schema"]}.{node["alias"]}'),
            ).fetchall()
            if not any(sorted(lead) == sorted(key) for (lead,) in leads):
                missing.append((node["name"], key))
    assert missing == []


def test_incremental_tables_keep_a_tenth_of_each_page_from_later_inserts(
    warehouse: BuiltWarehouse,
) -> None:
    """After the full refresh packed their pages, every incremental model's table has fillfactor
    90 (macros/incremental.sql, reserve_page_space): later runs' rows go to pages with room,
    not one by one into the packed pages' slack. The other tables keep PostgreSQL's default."""
    manifest = json.loads((warehouse.target_path / "manifest.json").read_text())
    tables = {
        f'{node["schema"]}.{node["alias"]}': node["config"]["materialized"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] != "view"
    }
    with warehouse.connection() as conn:
        options = {
            table: conn.execute(
                "select reloptions from pg_class where oid = %s::regclass", (table,)
            ).fetchone()[0]
            for table in tables
        }
    expected = {
        table: ["fillfactor=90"] if materialized == "incremental" else None
        for table, materialized in tables.items()
    }
    assert "incremental" in tables.values() and "table" in tables.values()
    assert options == expected
