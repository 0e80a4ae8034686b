"""The load manifest (`raw.load_manifest`): one row per file version the loader has seen.

A file is identified by the sha256 of its bytes. When a run starts, the rows of all its files
are written as `running` and committed (so a load in progress is visible); each turns
`loaded` inside the transaction that loads the file, so "loaded" and the rows it loaded
commit together. A loader that dies leaves `running` behind: the next loader of the same
content holds the content's advisory lock, which proves the owner is gone, and marks it
`failed`. Each of these is one statement for all the files of a run: many small files are
common, and a round trip per file and step would cost as much as their rows.
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


def lock(conn: psycopg.Connection, checksums: list[str]) -> None:
    """Wait for any other loader of the same contents (session locks: they die with it),
    taken in one order so that two loaders cannot deadlock."""
    conn.execute("select pg_advisory_lock(hashtextextended(name, 0))"
                 " from unnest(%s::text[]) as name", (_lock_names(checksums),))


def unlock(conn: psycopg.Connection, checksums: list[str]) -> None:
    conn.execute("select pg_advisory_unlock(hashtextextended(name, 0))"
                 " from unnest(%s::text[]) as name", (_lock_names(checksums),))


def _lock_names(checksums: list[str]) -> list[str]:
    return sorted({"beacon.events:" + checksum for checksum in checksums})


@dataclass(frozen=True)
class Started:
    """A file's `running` row: what was known of its content and path when it was written."""

    load_id: int
    interrupted: bool  # an earlier load of this content died (its row is now `failed`)
    loaded: bool  # another loader has loaded this content meanwhile: no row was written
    previous_versions: int  # versions (other contents) of this path loaded before


def start(conn: psycopg.Connection, files: list[tuple[int, str, FileIdentity]]) -> list[Started]:
    """For (load_id, source_path, identity) of files whose locks this loader holds: mark their
    interrupted loads failed, and write a `running` row for those not loaded meanwhile."""
    rows = conn.execute(
        """
        with files as (
            select * from unnest(%(load_ids)s::bigint[], %(paths)s::text[], %(checksums)s::text[],
                                 %(sizes)s::bigint[], %(mtimes)s::timestamptz[])
                as file (load_id, source_path, checksum, size_bytes, file_mtime)
        ),
        interrupted as (
            update raw.load_manifest as manifest
            set status = 'failed', error = %(interrupted)s, finished_at = clock_timestamp()
            from files
            where manifest.checksum = files.checksum and manifest.status = 'running'
            returning manifest.checksum
        ),
        loaded as (
            select checksum from raw.load_manifest
            where status = 'loaded' and checksum in (select checksum from files)
        ),
        previous as (
            select source_path, max(version) as versions from raw.load_manifest
            where status = 'loaded' and source_path in (select source_path from files)
            group by source_path
        ),
        started as (
            insert into raw.load_manifest
                (load_id, source_path, checksum, size_bytes, file_mtime, version, status)
            select files.load_id, files.source_path, files.checksum, files.size_bytes,
                   files.file_mtime, coalesce(previous.versions, 0) + 1, 'running'
            from files left join previous using (source_path)
            where files.checksum not in (select checksum from loaded)
        )
        select files.load_id,
               files.checksum in (select checksum from interrupted),
               files.checksum in (select checksum from loaded),
               coalesce(previous.versions, 0)
        from files left join previous using (source_path)
        """,
        {"load_ids": [load_id for load_id, _, _ in files],
         "paths": [path for _, path, _ in files],
         "checksums": [identity.checksum for _, _, identity in files],
         "sizes": [identity.size_bytes for _, _, identity in files],
         "mtimes": [identity.mtime for _, _, identity in files],
         "interrupted": INTERRUPTED},
    ).fetchall()
    by_id = {row[0]: Started(row[0], row[1], row[2], int(row[3])) for row in rows}
    return [by_id[load_id] for load_id, _, _ in files]


def reserve_load_ids(conn: psycopg.Connection, count: int) -> list[int]:
    """Load ids for files about to be mapped (their rows carry it before the manifest row
    exists); ids of files that end up skipped are simply never used."""
    rows = conn.execute(
        "select nextval(pg_get_serial_sequence('raw.load_manifest', 'load_id'))"
        " from generate_series(1, %s)",
        (count,),
    ).fetchall()
    return [int(row[0]) for row in rows]


def finish(conn: psycopg.Connection, counts: dict[int, Counts]) -> None:
    """Turn the rows of these loads `loaded`, with their counts (inside the loads' transaction)."""
    conn.execute(
        "update raw.load_manifest as manifest set status = 'loaded', lines_total = done.lines,"
        " lines_loaded = done.loaded, lines_duplicate = done.duplicates,"
        " lines_quarantined = done.quarantined, finished_at = clock_timestamp()"
        " from unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
        " as done (load_id, lines, loaded, duplicates, quarantined)"
        " where manifest.load_id = done.load_id",
        (list(counts), *([getattr(c, name) for c in counts.values()]
                         for name in ("lines", "loaded", "duplicates", "quarantined"))),
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
