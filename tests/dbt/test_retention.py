"""Raw-event retention (SPEC 4) under dbt: builds keep passing, and what the marts then hold.

The retention asset deletes raw.events older than a project's `retention_days`
(ingestion/events/retention.py, run here as is). The marts are derived, not mirrored:
- an incremental run keeps what earlier runs derived from the deleted events (a visitor it
  re-derives reads its history back from fct_events, not from raw.events);
- a full refresh rebuilds from what raw.events still holds, as if the deleted events had never
  been loaded.
Both builds pass every data test: assert_every_event_is_modelled checks that every raw event
still there is modelled exactly once, and lets the marts hold more (model docs,
`raw_event_retention`).

The scenario (tests/dbt/dataset.py; times UTC, January 2025): the first load is built (models
only, so the data tests' first run checks every row); then the second load arrives and retention
runs at the 16th 09:30 with `retention_days` 10, deleting what happened before the 6th 09:30:
alice's page view, view_product, click and add_to_cart (09:00-09:20, first load), dave's page
view at 07:20 (first load) and his skewed one at 07:00:05 (second load, never built). Alice's
form_start (09:50), her purchase of 50 (10:20:00.001) and identify stay. 21 of the 27 events
remain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from ingestion.events.retention import delete_expired_events
from tests.dbt import dataset
from tests.dbt.conftest import MARTS, MODELS_ONLY, SERVERS, BuiltWarehouse, throwaway_database
from tests.dbt.dataset import at
from tests.dbt.test_incremental import differences
from tests.dbt.test_marts import session_id

RETENTION_NOW = at(16, 9, 30)
RETENTION_DAYS = 10
AFTER_INCREMENTAL = "after_retention_incremental"
EXPIRED = ["a1", "a2", "a3", "a4", "d1", "d2"]


@pytest.fixture(scope="module", params=SERVERS)
def retained(
    request: pytest.FixtureRequest,
    server_dsns: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuiltWarehouse]:
    """First load built; second load; retention; an incremental `dbt build` (data tests
    included), its marts copied to AFTER_INCREMENTAL; then `dbt build --full-refresh` (data and
    unit tests included). A failing build fails every test of the module."""
    shop = dataclasses.replace(dataset.SHOP, retention_days=RETENTION_DAYS)
    with throwaway_database(request, server_dsns, tmp_path_factory) as built:
        with built.connection() as conn:
            dataset.load_registry(conn)
            conn.execute("update raw.projects set retention_days = %s", (RETENTION_DAYS,))
            dataset.load_events(conn, second_load=False)
        built.dbt("build", *MODELS_ONLY)
        with built.connection() as conn:
            dataset.load_events(conn, second_load=True)
        deleted = delete_expired_events(built.dsn, [shop], now=RETENTION_NOW)
        assert deleted == {"shop": len(EXPIRED)}
        built.dbt("build", "--exclude", "resource_type:unit_test")
        built.copy_aside(AFTER_INCREMENTAL, {"marts": MARTS})
        built.dbt("build", "--full-refresh")
        yield built


def test_retention_deleted_the_expired_raw_events(retained: BuiltWarehouse) -> None:
    remaining = {message_id for (message_id,) in retained.rows("select message_id from raw.events")}
    assert len(remaining) == 21
    assert remaining.isdisjoint(EXPIRED)


def events_per_visitor(warehouse: BuiltWarehouse, schema: str) -> list[tuple]:
    return warehouse.rows(
        f"select anonymous_id, count(*), count(distinct session_id), min(user_id)"
        f" from {schema}.fct_events group by anonymous_id order by anonymous_id"
    )


def test_incremental_run_keeps_what_it_derived_from_deleted_events(
    retained: BuiltWarehouse,
) -> None:
    """Alice, re-derived for her new events, keeps a1-a4 (read back from fct_events); dave, not
    re-derived, keeps his built page view; his skewed one, deleted before any build, never came."""
    assert events_per_visitor(retained, AFTER_INCREMENTAL) == [
        ("anon-alice", 6, 2, "user-alice"),
        ("anon-alice-phone", 3, 1, "user-alice"),
        ("anon-bob", 6, 3, None),
        ("anon-bot", 3, 1, None),
        ("anon-carol", 3, 2, None),
        ("anon-dave", 1, 1, "user-dave"),
        ("anon-erin", 3, 1, None),
    ]
    sessions = retained.rows(
        f"select session_id, started_at, events, pageviews, is_bounce, form_starts, landing_path,"
        f" utm_ad_id, conversions, revenue from {AFTER_INCREMENTAL}.fct_sessions"
        f" where anonymous_id in ('anon-alice', 'anon-dave') order by started_at"
    )
    assert sessions == [
        (session_id("anon-dave", at(6, 7, 20)), at(6, 7, 20), 1, 1, True, 0, "/pricing", None,
         0, 0),
        (session_id("anon-alice", at(6, 9)), at(6, 9), 5, 1, False, 1, "/home", "ad-1", 0, 0),
        (session_id("anon-alice", at(6, 10, 20, 0, 1)), at(6, 10, 20, 0, 1), 1, 0, False, 0,
         "/checkout", None, 1, 50),
    ]


def test_full_refresh_holds_only_the_retained_events(retained: BuiltWarehouse) -> None:
    """Alice's history starts at her form_start: two sessions, neither from an ad (30 min and
    1 ms apart); dave is gone."""
    assert events_per_visitor(retained, "marts") == [
        ("anon-alice", 2, 2, "user-alice"),
        ("anon-alice-phone", 3, 1, "user-alice"),
        ("anon-bob", 6, 3, None),
        ("anon-bot", 3, 1, None),
        ("anon-carol", 3, 2, None),
        ("anon-erin", 3, 1, None),
    ]
    sessions = retained.rows(
        "select session_id, started_at, events, pageviews, is_bounce, form_starts, landing_path,"
        " utm_ad_id, conversions, revenue from marts.fct_sessions"
        " where anonymous_id in ('anon-alice', 'anon-dave') order by started_at"
    )
    assert sessions == [
        (session_id("anon-alice", at(6, 9, 50)), at(6, 9, 50), 1, 0, False, 1, "/checkout", None,
         0, 0),
        (session_id("anon-alice", at(6, 10, 20, 0, 1)), at(6, 10, 20, 0, 1), 1, 0, False, 0,
         "/checkout", None, 1, 50),
    ]
    assert retained.rows("select count(*) from marts.dim_visitors")[0] == (6,)
    assert retained.rows("select user_id from marts.dim_users order by user_id") == [
        ("user-alice",),
    ]


def test_daily_rollups_and_ad_performance_of_the_expiring_day(retained: BuiltWarehouse) -> None:
    """The 6th (Berlin). Incremental: dave's one-page-view bounce (0 s), alice's A1 (3000 s,
    from ad-1) and A2 (0 s, the purchase, credited to ad-1). Full refresh: alice's two sessions of
    0 s, no page view, no ad session, so the purchase is unattributed; ad-1 keeps its spend."""
    rollup = (
        "select visitors, sessions, bounces, pageviews, form_starts, form_submits,"
        " avg_session_duration_secs, exits, conversions, revenue from {}.fct_daily_rollups"
        " where day = '2025-01-06'"
    )
    assert retained.rows(rollup.format(AFTER_INCREMENTAL)) == [
        (2, 3, 1, 2, 1, 0, Decimal("1000.00"), 2, 1, 50),
    ]
    assert retained.rows(rollup.format("marts")) == [
        (1, 2, 0, 0, 1, 0, Decimal("0.00"), 0, 1, 50),
    ]
    ad_day = (
        "select spend, impressions, clicks, sessions, conversions, revenue, cpa, roas"
        " from {}.fct_ad_performance_daily where ad_id = 'ad-1' and day = '2025-01-06'"
    )
    assert retained.rows(ad_day.format(AFTER_INCREMENTAL)) == [
        (20, 1000, 10, 1, 1, 50, 20, Decimal("2.5")),
    ]
    assert retained.rows(ad_day.format("marts")) == [(20, 1000, 10, 0, 0, 0, None, 0)]


def test_later_days_are_the_same_either_way(retained: BuiltWarehouse) -> None:
    """Retention only reached the 6th: every rollup from the 7th on agrees."""
    later = "day > '2025-01-06'"
    assert differences(retained, "fct_daily_rollups", AFTER_INCREMENTAL, later) == []
    assert [day for (day,) in retained.rows(
        "select day from marts.fct_daily_rollups order by day"
    )] == [date(2025, 1, day) for day in (6, 7, 8, 9, 10, 12, 17)]

