"""Creating the raw layer that loaders write into."""

from __future__ import annotations

from pathlib import Path

import psycopg

RAW_SCHEMA_SQL = Path(__file__).parent / "sql" / "raw_schema.sql"


def ensure_raw_schema(conn: psycopg.Connection) -> None:
    """Create the `raw` schema and its tables if missing (safe to run concurrently)."""
    with conn.transaction():
        # Serialise concurrent first runs: `create ... if not exists` can race on the catalog.
        conn.execute("select pg_advisory_xact_lock(hashtext('beacon.raw_schema'))")
        conn.execute(RAW_SCHEMA_SQL.read_text())
