"""The raw layer that loaders write into, and the lock that keeps writers of the event
pipeline (event loads, dbt builds) from overlapping."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from ingestion.postgres import connection

RAW_SCHEMA_SQL = Path(__file__).parent / "sql" / "raw_schema.sql"
SCHEMA_MARK = "beacon raw layer {version}"


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create or update the `raw` schema and its tables (safe to run concurrently).

    The schema's comment records a hash of the DDL it was built from: when it matches, nothing
    runs, so a call takes no lock and never waits behind a load in progress.
    """
    ddl = RAW_SCHEMA_SQL.read_text()
    mark = SCHEMA_MARK.format(version=hashlib.sha256(ddl.encode()).hexdigest()[:16])
    with conn.transaction():
        current = conn.execute(
            "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = 'raw'"
        ).fetchone()
        if current and current[0] == mark:
            return
        # Serialise concurrent first runs: `create ... if not exists` can race on the catalog.
        conn.execute("select pg_advisory_xact_lock(hashtext('beacon.raw_schema'))")
        conn.execute(ddl)
        conn.execute(f"comment on schema raw is '{mark}'")


@contextmanager
def pipeline_writer_lock(
    dsn: str, *, progress: Callable[[str], None] | None = None, poll_seconds: float = 5.0
) -> Iterator[None]:
    """Hold the warehouse's event-pipeline lock: one event load or dbt build at a time.

    Incremental models read `raw.events.loaded_at` as a watermark; a load committing while a
    build runs could land below it and be missed, and two builds' delete+insert would
    duplicate rows. The lock is a session-level advisory lock, so a killed holder frees it.
    """
    with connection(dsn, autocommit=True) as conn:
        waited = 0.0
        while not conn.execute(
            "select pg_try_advisory_lock(hashtext('beacon.event_pipeline'))"
        ).fetchone()[0]:
            if progress and waited % 60 == 0:
                progress("waiting for another event load or dbt build to finish ...")
            time.sleep(poll_seconds)
            waited += poll_seconds
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext('beacon.event_pipeline'))")
