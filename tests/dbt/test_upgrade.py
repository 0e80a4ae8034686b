"""A warehouse built before fct_sessions had changed_at, upgraded by an incremental build.

The first load is built, then changed_at is dropped from fct_sessions (the table as a build
before the column left it) and the rollups are left stale and a run behind the sessions (as
when a build before the upgrade failed between the two). The upgrading build, with no new
events, adds the column back (on_schema_change append_new_columns), empty in every row: the
rollups meet those rows above their watermark and must count them as changed, recomputing every
day. The second load's incremental build then counts every re-derived session as changed (there
is nothing to compare it with), and the marts agree with a full refresh.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest

from tests.dbt import dataset
from tests.dbt.conftest import MARTS, MODELS_ONLY, BuiltWarehouse, throwaway_database
from tests.dbt.dataset import FIRST_LOAD_AT, SECOND_LOAD_AT
from tests.dbt.test_incremental import differences

UPGRADED = "upgraded_incremental"


@dataclass
class Upgraded:
    warehouse: BuiltWarehouse
    # (day, sessions) after the upgrading build: of the rollups, and counted in fct_sessions.
    rollup_sessions: list[tuple]
    counted_sessions: list[tuple]


# The embedded server only: the SQL is the same on every server, and each build costs seconds.
@pytest.fixture(scope="module", params=["embedded"])
def upgraded(
    request: pytest.FixtureRequest,
    server_dsns: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Upgraded]:
    """First load built; fct_sessions.changed_at dropped, every rollup day zeroed and its
    watermark set a day back; the upgrading build; second load and an incremental build (data
    tests included), its marts copied to UPGRADED; then a full refresh."""
    with throwaway_database(request, server_dsns, tmp_path_factory) as built:
        with built.connection() as conn:
            dataset.load_registry(conn)
            dataset.load_events(conn, second_load=False)
        built.dbt("build", *MODELS_ONLY)
        with built.connection() as conn:
            conn.execute("alter table marts.fct_sessions drop column changed_at")
            conn.execute(
                "update marts.fct_daily_rollups"
                " set sessions = 0, visitor_loaded_at = visitor_loaded_at - interval '1 day'"
            )
        built.dbt("build", *MODELS_ONLY)
        rollup_sessions = built.rows("select day, sessions from marts.fct_daily_rollups order by 1")
        counted_sessions = built.rows(
            "select started_date, count(*) filter (where not is_bot) from marts.fct_sessions"
            " group by started_date order by 1"
        )
        with built.connection() as conn:
            dataset.load_events(conn, second_load=True)
        built.dbt("build", "--exclude", "resource_type:unit_test")
        built.copy_aside(UPGRADED, {"marts": MARTS})
        built.dbt("build", "--full-refresh", *MODELS_ONLY)
        yield Upgraded(built, rollup_sessions, counted_sessions)


def test_the_upgrading_build_recomputes_the_days_of_sessions_without_changed_at(
    upgraded: Upgraded,
) -> None:
    """The first load's non-bot sessions per day, as the rollups say and as counted."""
    first_load = [
        (date(2025, 1, 6), 3),
        (date(2025, 1, 7), 2),
        (date(2025, 1, 12), 1),
        (date(2025, 1, 13), 1),
    ]
    assert upgraded.counted_sessions == first_load
    assert upgraded.rollup_sessions == first_load


def test_rederived_sessions_count_as_changed_and_the_others_stay_empty(
    upgraded: Upgraded,
) -> None:
    by_load = upgraded.warehouse.rows(
        f"select visitor_loaded_at, changed_at, count(*) from {UPGRADED}.fct_sessions"
        f" group by visitor_loaded_at, changed_at order by visitor_loaded_at"
    )
    assert [(loaded, changed) for loaded, changed, _ in by_load] == [
        (FIRST_LOAD_AT, None),
        (SECOND_LOAD_AT, SECOND_LOAD_AT),
    ]
    # Bob's session of the 7th came out as it was; with nothing to compare it with, it counts
    # as changed (after the upgrade, the comparison keeps its changed_at: test_incremental).
    assert upgraded.warehouse.rows(
        f"select changed_at from {UPGRADED}.fct_sessions"
        f" where anonymous_id = 'anon-bob' and started_date = '2025-01-07'"
    ) == [(SECOND_LOAD_AT,)]


@pytest.mark.parametrize("mart", ["fct_daily_rollups", "fct_sessions"])
def test_upgraded_marts_equal_full_refresh(upgraded: Upgraded, mart: str) -> None:
    assert differences(upgraded.warehouse, mart, UPGRADED) == []
