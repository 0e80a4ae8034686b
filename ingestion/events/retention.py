"""Deleting raw events older than their project's `retention_days` (SPEC 4)."""

from __future__ import annotations

from datetime import datetime, timedelta

from ingestion import config
from ingestion.postgres import connection
from ingestion.projects import Project
from ingestion.warehouse import ensure_raw_schema


def delete_expired_events(
    dsn: str, projects: list[Project], *, now: datetime | None = None
) -> dict[str, int]:
    """Delete each project's events whose event time is before now - retention_days.

    Returns the number of deleted rows per project id (0 included), all in one transaction.
    """
    now = now or config.now()
    deleted: dict[str, int] = {}
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        with conn.transaction():
            for project in projects:
                cutoff = now - timedelta(days=project.retention_days)
                cur = conn.execute(
                    "delete from raw.events where project_id = %s and event_at < %s",
                    (project.project_id, cutoff),
                )
                deleted[project.project_id] = cur.rowcount
    return deleted
