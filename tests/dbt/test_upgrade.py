"""A warehouse built before fct_sessions had changed_at, upgraded by an incremental build.

The first load is built, then changed_at is dropped from fct_sessions (the table as a build
before the column left it); the second load's incremental build adds the column back
(on_schema_change append_new_columns) and must count every re-derived session as changed, so
the rollups recompute their days and agree with a full refresh. Rows it did not re-derive keep
an empty changed_at, which the rollups also count as changed should they meet one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dbt import dataset
from tests.dbt.conftest import MARTS, MODELS_ONLY, BuiltWarehouse, throwaway_database
from tests.dbt.dataset import FIRST_LOAD_AT, SECOND_LOAD_AT
from tests.dbt.test_incremental import differences

UPGRADED = "upgraded_incremental"


# The embedded server only: the SQL is the same on every server, and each build costs seconds.
@pytest.fixture(scope="module", params=["embedded"])
def upgraded(
    request: pytest.FixtureRequest,
    server_dsns: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[BuiltWarehouse]:
    """First load built; fct_sessions.changed_at dropped; second load and an incremental build
    (data tests included), its marts copied to UPGRADED; then a full refresh."""
    with throwaway_database(request, server_dsns, tmp_path_factory) as built:
        with built.connection() as conn:
            dataset.load_registry(conn)
            dataset.load_events(conn, second_load=False)
        built.dbt("build", *MODELS_ONLY)
        with built.connection() as conn:
            conn.execute("alter table marts.fct_sessions drop column changed_at")
            dataset.load_events(conn, second_load=True)
        built.dbt("build", "--exclude", "resource_type:unit_test")
        built.copy_aside(UPGRADED, {"marts": MARTS})
        built.dbt("build", "--full-refresh", *MODELS_ONLY)
        yield built


def test_rederived_sessions_count_as_changed_and_the_others_stay_empty(
    upgraded: BuiltWarehouse,
) -> None:
    by_load = upgraded.rows(
        f"select visitor_loaded_at, changed_at, count(*) from {UPGRADED}.fct_sessions"
        f" group by visitor_loaded_at, changed_at order by visitor_loaded_at"
    )
    assert [(loaded, changed) for loaded, changed, _ in by_load] == [
        (FIRST_LOAD_AT, None),
        (SECOND_LOAD_AT, SECOND_LOAD_AT),
    ]
    # Bob's session of the 7th came out as it was; with nothing to compare it with, it counts
    # as changed (after the upgrade, the comparison keeps its changed_at: test_incremental).
    assert upgraded.rows(
        f"select changed_at from {UPGRADED}.fct_sessions"
        f" where anonymous_id = 'anon-bob' and started_date = '2025-01-07'"
    ) == [(SECOND_LOAD_AT,)]


@pytest.mark.parametrize("mart", ["fct_daily_rollups", "fct_sessions"])
def test_upgraded_marts_equal_full_refresh(upgraded: BuiltWarehouse, mart: str) -> None:
    assert differences(upgraded, mart, UPGRADED) == []
