"""The load manifest (`raw.load_manifest`): one row per file version the loader has seen.

A file is identified by the sha256 of its bytes. Its row is written as `running` and
committed before the load starts (so a load in progress is visible), then turned to
`loaded` inside the load's own transaction, so "loaded" and the rows it loaded commit
together. A loader that dies leaves `running` behind: the next loader of the same content
holds the content's advisory lock, which proves the owner is gone, and marks it `failed`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

INTERRUPTED = "interrupted: the loader stopped before committing; the file was loaded again"


@dataclass(frozen=True)
class FileIdentity:
    checksum: str
    size_bytes: int
    mtime: datetime


@dataclass(frozen=True)
class Counts:
    lines: int
    loaded: int
    duplicates: int
    quarantined: int


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def mtime_of(stat: os.stat_result) -> datetime:
    """Modification time at microsecond precision, exactly as timestamptz stores it."""
    return EPOCH + timedelta(microseconds=stat.st_mtime_ns // 1000)


def identify(path: Path) -> FileIdentity:
    stat = path.stat()
    with open(path, "rb") as handle:
        checksum = hashlib.file_digest(handle, "sha256").hexdigest()
    return FileIdentity(checksum, stat.st_size, mtime_of(stat))


def lock(conn: psycopg.Connection, checksum: str) -> None:
    """Wait for any other loader of the same content (a session lock: it dies with it)."""
    conn.execute("select pg_advisory_lock(hashtextextended(%s, 0))", (_lock_name(checksum),))


def unlock(conn: psycopg.Connection, checksum: str) -> None:
    conn.execute("select pg_advisory_unlock(hashtextextended(%s, 0))", (_lock_name(checksum),))


def _lock_name(checksum: str) -> str:
    return "beacon.events:" + checksum


def close_interrupted(conn: psycopg.Connection, checksum: str) -> int:
    """Mark `running` rows of this content as failed; call only while holding its lock."""
    cur = conn.execute(
        "update raw.load_manifest set status = 'failed', error = %s,"
        " finished_at = clock_timestamp() where checksum = %s and status = 'running'",
        (INTERRUPTED, checksum),
    )
    return cur.rowcount


def loaded_load_id(conn: psycopg.Connection, checksum: str) -> int | None:
    row = conn.execute(
        "select load_id from raw.load_manifest where checksum = %s and status = 'loaded'",
        (checksum,),
    ).fetchone()
    return row[0] if row else None


def loaded_versions(conn: psycopg.Connection, source_path: str) -> int:
    """How many versions (distinct contents) of this path are loaded already."""
    row = conn.execute(
        "select coalesce(max(version), 0) from raw.load_manifest"
        " where source_path = %s and status = 'loaded'",
        (source_path,),
    ).fetchone()
    return int(row[0]) if row else 0


def reserve_load_ids(conn: psycopg.Connection, count: int) -> list[int]:
    """Load ids for files about to be mapped (their rows carry it before the manifest row
    exists); ids of files that end up skipped are simply never used."""
    rows = conn.execute(
        "select nextval(pg_get_serial_sequence('raw.load_manifest', 'load_id'))"
        " from generate_series(1, %s)",
        (count,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def start(
    conn: psycopg.Connection, load_id: int, source_path: str, identity: FileIdentity, version: int
) -> None:
    conn.execute(
        "insert into raw.load_manifest (load_id, source_path, checksum, size_bytes, file_mtime,"
        " version, status) values (%s, %s, %s, %s, %s, %s, 'running')",
        (load_id, source_path, identity.checksum, identity.size_bytes, identity.mtime, version),
    )


def finish(conn: psycopg.Connection, load_id: int, counts: Counts) -> None:
    conn.execute(
        "update raw.load_manifest set status = 'loaded', lines_total = %s, lines_loaded = %s,"
        " lines_duplicate = %s, lines_quarantined = %s, finished_at = clock_timestamp()"
        " where load_id = %s",
        (counts.lines, counts.loaded, counts.duplicates, counts.quarantined, load_id),
    )


def fail(conn: psycopg.Connection, load_id: int, error: str) -> None:
    conn.execute(
        "update raw.load_manifest set status = 'failed', error = %s,"
        " finished_at = clock_timestamp() where load_id = %s",
        (error[:2000], load_id),
    )


def loaded_fingerprints(conn: psycopg.Connection) -> set[tuple[str, int, datetime]]:
    """(path, size, mtime) of every loaded file version, for the sensor's cheap pre-check."""
    rows = conn.execute(
        "select source_path, size_bytes, file_mtime from raw.load_manifest"
        " where status = 'loaded' and file_mtime is not null"
    ).fetchall()
    return {(path, size, mtime) for path, size, mtime in rows}


def loaded_checksums(conn: psycopg.Connection, checksums: list[str]) -> set[str]:
    rows = conn.execute(
        "select checksum from raw.load_manifest where status = 'loaded' and checksum = any(%s)",
        (checksums,),
    ).fetchall()
    return {row[0] for row in rows}
