"""The data tests' incremental mode (macros/data_tests.sql): after a run in which a test
passed, it checks only the rows written since. assert_every_event_is_modelled then pairs the
raw events loaded since with their modelled rows, found by range on visitor_loaded_at."""

from __future__ import annotations

import pytest

from tests.dbt import dataset
from tests.dbt.conftest import MODELS_ONLY, SERVERS, BuiltWarehouse, throwaway_database
from tests.dbt.dataset import FIRST_LOAD_AT, SECOND_LOAD_AT
from tests.dbt.dbt_cli import DbtFailed

# --store-failures: the failing rows land in staging.assert_every_event_is_modelled.
EVERY_EVENT_MODELLED = ("test", "--select", "assert_every_event_is_modelled", "--store-failures")


@pytest.fixture(params=SERVERS)
def second_load_built(request, server_dsns, tmp_path_factory) -> BuiltWarehouse:
    """The first load built with its data tests (all passed: marked), then the second load,
    stamped as loaded an hour from now (after the marks of every run here), built without
    tests."""
    with throwaway_database(request, server_dsns, tmp_path_factory) as built:
        with built.connection() as conn:
            dataset.load_registry(conn)
            dataset.load_events(conn, second_load=False)
        built.dbt("build", "--exclude", "resource_type:unit_test")
        with built.connection() as conn:
            dataset.load_events(conn, second_load=True)
            conn.execute(
                "update raw.events set loaded_at = now() + interval '1 hour' where loaded_at = %s",
                (SECOND_LOAD_AT,),
            )
        built.dbt("build", *MODELS_ONLY)
        yield built


def missing_one_event(built: BuiltWarehouse, loaded_at) -> tuple[str, str]:
    """Delete one event loaded at `loaded_at` from fct_events; its (project_id, message_id)."""
    with built.connection() as conn:
        return conn.execute(
            "delete from marts.fct_events where ctid = (select ctid from marts.fct_events"
            " where loaded_at = %s order by message_id limit 1) returning project_id, message_id",
            (loaded_at,),
        ).fetchone()


def test_every_event_loaded_since_is_checked_and_only_those(
    second_load_built: BuiltWarehouse,
) -> None:
    built = second_load_built
    # An event of the first load missing: checked before, not again (a check of every row
    # would fail here, on the counts of its project).
    missing_one_event(built, FIRST_LOAD_AT)
    built.dbt(*EVERY_EVENT_MODELLED)
    [(loaded_later,)] = built.rows("select max(loaded_at) from raw.events where loaded_at > now()")
    project_id, message_id = missing_one_event(built, loaded_later)
    with pytest.raises(DbtFailed, match="Got 1 result"):
        built.dbt(*EVERY_EVENT_MODELLED)
    assert built.rows("select * from staging.assert_every_event_is_modelled") == [
        (project_id, message_id, 0)
    ]


def test_an_earlier_copy_of_a_new_event_is_caught(second_load_built: BuiltWarehouse) -> None:
    """A row of fct_events for a message loaded since, kept from an earlier load at another
    time (the primary key takes it; the incremental anti-join is what should have dropped it),
    is a second copy: the pairing reads every row of the re-derived visitors."""
    built = second_load_built
    [(loaded_later,)] = built.rows("select max(loaded_at) from raw.events where loaded_at > now()")
    with built.connection() as conn:
        conn.execute(
            "create temporary table copied as select * from marts.fct_events"
            " where loaded_at = %s order by message_id limit 1",
            (loaded_later,),
        )
        conn.execute(
            "update copied set event_at = event_at - interval '1 second', loaded_at = %s",
            (FIRST_LOAD_AT,),
        )
        project_id, message_id = conn.execute(
            "insert into marts.fct_events select * from copied returning project_id, message_id"
        ).fetchone()
    with pytest.raises(DbtFailed, match="Got 1 result"):
        built.dbt(*EVERY_EVENT_MODELLED)
    assert built.rows("select * from staging.assert_every_event_is_modelled") == [
        (project_id, message_id, 2)
    ]


def test_an_event_without_its_session_is_caught_among_the_rows_written_since(
    second_load_built: BuiltWarehouse,
) -> None:
    """assert_events_belong_to_sessions pairs the events and sessions written since its last
    pass: a session of the first load deleted goes unseen (checked then), one of the second load
    is reported with its events."""
    built = second_load_built
    belong = ("test", "--select", "assert_events_belong_to_sessions", "--store-failures")
    [(second_load_at,)] = built.rows(
        "select max(visitor_loaded_at) from marts.fct_sessions where visitor_loaded_at > now()"
    )
    with built.connection() as conn:
        conn.execute(
            "delete from marts.fct_sessions where ctid = (select ctid from marts.fct_sessions"
            " where visitor_loaded_at < now() order by session_id limit 1)"
        )
    built.dbt(*belong)
    with built.connection() as conn:
        session_id = conn.execute(
            "delete from marts.fct_sessions where ctid = (select ctid from marts.fct_sessions"
            " where visitor_loaded_at = %s order by session_id limit 1) returning session_id",
            (second_load_at,),
        ).fetchone()[0]
    [(events,)] = built.rows(
        "select count(*) from marts.fct_events where session_id = %s", (session_id,)
    )
    with pytest.raises(DbtFailed, match="Got 1 result"):
        built.dbt(*belong)
    assert built.rows("select * from staging.assert_events_belong_to_sessions") == [
        (session_id, events)
    ]
