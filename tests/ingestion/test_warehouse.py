"""The raw layer's bootstrap and the event pipeline's writer lock."""

from __future__ import annotations

import threading
import time

import psycopg

from ingestion.postgres import connection
from ingestion.warehouse import ensure_raw_schema, pipeline_writer_lock


def test_schema_bootstrap_is_skipped_once_current(warehouse_dsn: str) -> None:
    with connection(warehouse_dsn) as conn:
        ensure_raw_schema(conn)  # a non-autocommit connection: the DDL must still commit
    with connection(warehouse_dsn, autocommit=True) as writer, \
            connection(warehouse_dsn, autocommit=True) as other:
        writer.execute("begin")
        writer.execute("lock table raw.events in exclusive mode")  # a load in progress
        other.execute("set lock_timeout = '1s'")
        ensure_raw_schema(other)  # current: takes no lock, so it does not wait
        writer.execute("rollback")
        assert other.execute("select to_regclass('raw.events') is not null").fetchone()[0]


def test_writer_lock_admits_one_holder_at_a_time(warehouse_dsn: str) -> None:
    order: list[str] = []

    def second() -> None:
        with pipeline_writer_lock(warehouse_dsn, poll_seconds=0.05):
            order.append("second in")

    with pipeline_writer_lock(warehouse_dsn):
        order.append("first in")
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)
        order.append("first out")
    thread.join(timeout=10)
    assert order == ["first in", "first out", "second in"]
    with psycopg.connect(warehouse_dsn) as conn:  # released: nothing holds it now
        assert conn.execute(
            "select pg_try_advisory_lock(hashtext('beacon.event_pipeline'))").fetchone()[0]
