"""Loading landing files into `raw.events` and `raw.quarantine` (SPEC 3.2 and 4).

Per file, in one transaction: chunks of lines are mapped (in worker processes for big
files), COPY'd into a temporary staging table, and moved into `raw.events` with
`on conflict do nothing`, which keeps the first copy of every (project, message id) and
counts the others as duplicates; rejected lines are COPY'd into `raw.quarantine`. The
manifest row turns `loaded` in that same transaction, so a crash leaves either the whole
file or nothing, and the rerun loads it again from the start.
"""

from __future__ import annotations

import contextlib
import gzip
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from ingestion import config
from ingestion.errors import BeaconError
from ingestion.events import manifest, reader
from ingestion.events.chunk import ChunkContext
from ingestion.events.copy_format import EVENT_COLUMNS, QUARANTINE_COLUMNS
from ingestion.events.landing import check_landing_dir, find_event_files, source_path
from ingestion.events.reader import read_chunks
from ingestion.events.workers import ChunkPool
from ingestion.postgres import connection
from ingestion.projects import Project, write_projects
from ingestion.warehouse import ensure_raw_schema

Progress = Callable[[str], None]

PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # smaller files are mapped in-process
PROGRESS_EVERY_SECONDS = 2.0

_COLUMNS = ", ".join(EVENT_COLUMNS)
CREATE_STAGING = (
    "create temp table events_staging (like raw.events including defaults) on commit drop"
)
COPY_STAGING = f"copy pg_temp.events_staging ({_COLUMNS}) from stdin"
MOVE_STAGING = (
    f"insert into raw.events ({_COLUMNS}) select {_COLUMNS} from pg_temp.events_staging"
    " on conflict (project_id, message_id) do nothing"
)
COPY_QUARANTINE = f"copy raw.quarantine ({', '.join(QUARANTINE_COLUMNS)}) from stdin"


@dataclass(frozen=True)
class FileResult:
    path: Path
    source_path: str
    checksum: str
    status: str  # loaded | new_version | skipped | failed
    version: int = 0
    load_id: int | None = None
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class LandingSummary:
    files: list[FileResult] = field(default_factory=list)

    def _total(self, name: str) -> int:
        return sum(getattr(result, name) for result in self.files)

    @property
    def files_seen(self) -> int:
        return len(self.files)

    @property
    def files_loaded(self) -> int:
        return sum(result.status in ("loaded", "new_version") for result in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(result.status == "skipped" for result in self.files)

    @property
    def files_failed(self) -> int:
        return sum(result.status == "failed" for result in self.files)

    @property
    def lines(self) -> int:
        return self._total("lines")

    @property
    def loaded(self) -> int:
        return self._total("loaded")

    @property
    def duplicates(self) -> int:
        return self._total("duplicates")

    @property
    def quarantined(self) -> int:
        return self._total("quarantined")


class LoadFailed(BeaconError):
    """Some files could not be loaded; the others were. Carries the summary."""

    def __init__(self, message: str, summary: LandingSummary):
        super().__init__(message)
        self.summary = summary


def load_landing(
    dsn: str,
    landing_dir: Path,
    projects: list[Project],
    *,
    now: datetime | None = None,
    max_line_bytes: int = 1_000_000,
    progress: Progress | None = None,
) -> LandingSummary:
    """Write the projects registry, then load every new file under `landing_dir`.

    Raises LoadFailed (a BeaconError) after the other files are loaded when any file fails.
    """
    check_landing_dir(landing_dir)
    now = now or config.now()
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        write_projects(conn, projects)
    summary = LandingSummary()
    files = find_event_files(landing_dir)
    _say(progress, f"{len(files)} event file(s) under {landing_dir}")
    with ChunkPool() as pool:
        for path in files:
            try:
                result = load_file(
                    dsn, path, projects, now=now, max_line_bytes=max_line_bytes,
                    progress=progress, source=source_path(landing_dir, path), pool=pool,
                )
            except BeaconError as exc:
                result = FileResult(path, source_path(landing_dir, path), "", "failed",
                                    error=str(exc))
                _say(progress, f"{result.source_path}: FAILED: {exc}")
            summary.files.append(result)
    failed = [result for result in summary.files if result.status == "failed"]
    if failed:
        first = failed[0]
        raise LoadFailed(
            f"{len(failed)} of {len(files)} event file(s) failed to load"
            f" (the others were loaded); first: {first.error}",
            summary,
        )
    return summary


def load_file(
    dsn: str,
    path: Path,
    projects: list[Project],
    *,
    now: datetime | None = None,
    max_line_bytes: int = 1_000_000,
    progress: Progress | None = None,
    source: str | None = None,
    pool: ChunkPool | None = None,
) -> FileResult:
    """Load one file (skipped when its content is loaded already). `source` names it in
    the manifest and quarantine (default: the path as given)."""
    now = now or config.now()
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    source = source or str(path)
    try:
        identity = manifest.identify(path)
    except OSError as exc:
        raise BeaconError(f"cannot read {source}: {exc.strerror or exc}") from exc
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        manifest.lock(conn, identity.checksum)
        try:
            return _load_locked(conn, path, source, identity, projects, now, max_line_bytes,
                                progress, pool)
        finally:
            if not conn.closed:
                manifest.unlock(conn, identity.checksum)


def _load_locked(
    conn: psycopg.Connection,
    path: Path,
    source: str,
    identity: manifest.FileIdentity,
    projects: list[Project],
    now: datetime,
    max_line_bytes: int,
    progress: Progress | None,
    pool: ChunkPool | None,
) -> FileResult:
    if manifest.close_interrupted(conn, identity.checksum):
        _say(progress, f"{source}: an earlier load was interrupted; loading it again")
    if manifest.loaded_load_id(conn, identity.checksum) is not None:
        _say(progress, f"{source}: already loaded (same checksum), skipped")
        return FileResult(path, source, identity.checksum, "skipped")
    previous = manifest.loaded_versions(conn, source)
    load_id = manifest.start(conn, source, identity, previous + 1)
    context = ChunkContext(load_id, source, tuple(projects), now, max_line_bytes)
    started = time.monotonic()
    try:
        with conn.transaction():
            counts, reasons = _copy_file(conn, path, identity, context, progress, pool)
            _check_unchanged(path, identity)
            manifest.finish(conn, load_id, counts)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        _record_failure(conn, load_id, f"cannot read {source}: {exc}")
        raise BeaconError(f"cannot read {source}: {exc}") from exc
    except BaseException as exc:
        _record_failure(conn, load_id, f"{type(exc).__name__}: {exc}")
        raise
    seconds = time.monotonic() - started
    status = "new_version" if previous else "loaded"
    _say(progress, f"{source}: {counts.lines:,} lines: {counts.loaded:,} loaded,"
                   f" {counts.duplicates:,} duplicates, {counts.quarantined:,} quarantined"
                   f" in {seconds:.1f} s" + (f" (version {previous + 1})" if previous else ""))
    return FileResult(
        path, source, identity.checksum, status, previous + 1, load_id, counts.lines,
        counts.loaded, counts.duplicates, counts.quarantined, dict(reasons), seconds,
    )


def _copy_file(
    conn: psycopg.Connection,
    path: Path,
    identity: manifest.FileIdentity,
    context: ChunkContext,
    progress: Progress | None,
    pool: ChunkPool | None,
) -> tuple[manifest.Counts, Counter]:
    lines = loaded = duplicates = quarantined = 0
    reasons: Counter = Counter()
    last_report = time.monotonic()
    own_pool = pool is None
    pool = pool or ChunkPool()
    parallel = identity.size_bytes >= PARALLEL_MIN_BYTES  # read at call time: tests lower it
    try:
        with conn.cursor() as cur:
            cur.execute(CREATE_STAGING)
            chunks = read_chunks(path, context.max_line_bytes, reader.CHUNK_BYTES)
            for chunk, result in pool.map(context, chunks, parallel):
                if result.staged:
                    with cur.copy(COPY_STAGING) as copy:
                        copy.write(result.events)
                    cur.execute(MOVE_STAGING)
                    loaded += cur.rowcount
                    duplicates += result.staged - cur.rowcount
                    cur.execute("truncate pg_temp.events_staging")
                if result.quarantined:
                    with cur.copy(COPY_QUARANTINE) as copy:
                        copy.write(result.quarantine)
                lines += result.lines
                duplicates += result.duplicates
                quarantined += result.quarantined
                reasons.update(result.reasons)
                if progress and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    share = 100 * chunk.position / max(identity.size_bytes, 1)
                    progress(f"{context.source_path}: {lines:,} lines ({share:.0f}%)")
    finally:
        if own_pool:
            pool.close()
    return manifest.Counts(lines, loaded, duplicates, quarantined), reasons


def _check_unchanged(path: Path, identity: manifest.FileIdentity) -> None:
    """A file still being written would load partly: refuse it (the rerun will retry)."""
    stat = path.stat()
    if stat.st_size != identity.size_bytes or manifest.mtime_of(stat) != identity.mtime:
        raise OSError(f"{path.name} changed while it was being loaded")


def _record_failure(conn: psycopg.Connection, load_id: int, error: str) -> None:
    # When the connection is gone, the next loader marks the row interrupted instead.
    with contextlib.suppress(psycopg.Error):
        manifest.fail(conn, load_id, error)


def _say(progress: Progress | None, message: str) -> None:
    if progress:
        progress(message)
