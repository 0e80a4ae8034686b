"""Loading landing files into `raw.events` and `raw.quarantine` (SPEC 3.2 and 4).

One connection serves the whole run. Files are hashed first, and those whose content is
loaded already are skipped without being read. The rest stream through the mapping workers
(workers.py) in file order, so the workers map the next files while this process copies the
current one.

Per file, in one transaction: for every chunk, the keys of its rows are looked up in
`raw.events` (which sees the rows of earlier chunks and files) and only the new rows are
COPY'd straight into the table: the first copy of every (project, message id) is kept and
the others are counted as duplicates. Rejected lines are COPY'd into `raw.quarantine`, and so
are the rare rows PostgreSQL refuses a value of (reason `rejected_by_database`). The
manifest row turns `loaded` in that same transaction, so a crash leaves either the whole
file or nothing, and the rerun loads it again from the start.
"""

from __future__ import annotations

import contextlib
import gzip
import re
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from pathlib import Path

import psycopg
from isal import isal_zlib

from ingestion import config
from ingestion.errors import BeaconError
from ingestion.events import manifest, reader
from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.copy_format import (
    BINARY_HEADER,
    BINARY_TRAILER,
    EVENT_COLUMNS,
    QUARANTINE_COLUMNS,
)
from ingestion.events.key_filter import KeyFilter
from ingestion.events.landing import check_landing_dir, find_event_files, source_path
from ingestion.events.reader import LineChunk, read_chunks
from ingestion.events.workers import ChunkPool
from ingestion.postgres import connection
from ingestion.projects import Project, write_projects
from ingestion.warehouse import ensure_raw_schema

Progress = Callable[[str], None]

PARALLEL_MIN_BYTES = 8 * 1024 * 1024  # less data than this is mapped in-process
PROGRESS_EVERY_SECONDS = 2.0
CONCURRENT_COPY_RETRIES = 3

COPY_EVENTS = f"copy raw.events ({', '.join(EVENT_COLUMNS)}) from stdin (format binary)"
COPY_QUARANTINE = f"copy raw.quarantine ({', '.join(QUARANTINE_COLUMNS)}) from stdin"
# The chunk's keys travel as one bytea of 16-byte digests (a text[] of uuids costs 3x more).
EXISTING_KEYS = (
    "select uuid_send(event_key) from raw.events where event_key = any(array("
    " select encode(substring(%(keys)s from i * 16 + 1 for 16), 'hex')::uuid"
    " from generate_series(0, length(%(keys)s) / 16 - 1) as i))"
)
READ_ERRORS = (OSError, EOFError, zlib.error, isal_zlib.error, gzip.BadGzipFile)
_COPY_COLUMN = re.compile(r"column (\w+)")  # in a COPY error's context


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
    files = find_event_files(landing_dir)
    _say(progress, f"{len(files)} event file(s) under {landing_dir}")
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        write_projects(conn, projects)
        run = _LoadRun(conn, projects, now, max_line_bytes, progress)
        summary = LandingSummary(run.load([(path, source_path(landing_dir, path))
                                           for path in files]))
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
) -> FileResult:
    """Load one file (skipped when its content is loaded already). `source` names it in
    the manifest and quarantine (default: the path as given). A failure is a BeaconError."""
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        [result] = _LoadRun(conn, projects, now, max_line_bytes, progress).load(
            [(path, source or str(path))])
    if result.status == "failed":
        raise BeaconError(result.error or f"{result.source_path} failed to load")
    return result


@dataclass(frozen=True)
class _File:
    """A file to load, with what is known before reading it."""

    number: int
    path: Path
    source: str
    identity: manifest.FileIdentity
    load_id: int


@dataclass(frozen=True)
class _Piece:
    """What the mapping stream carries for a file: a chunk, or (chunk None) its end."""

    file: _File
    chunk: LineChunk | None = None
    error: str | None = None  # at the end: why the file could not be read whole


class _FileFailed(Exception):
    pass


class _LoadRun:
    """Loading a list of files over one connection, the mapping done ahead by workers."""

    def __init__(self, conn: psycopg.Connection, projects: list[Project],
                 now: datetime | None, max_line_bytes: int, progress: Progress | None):
        now = now or config.now()
        self.conn = conn
        self.projects = tuple(projects)
        self.now = now if now.tzinfo else now.replace(tzinfo=UTC)
        self.max_line_bytes = max_line_bytes
        self.progress = progress
        self.ascii_quarantine = conn.info.parameter_status("server_encoding") != "UTF8"
        self.key_filter: KeyFilter | None = None

    def load(self, files: list[tuple[Path, str]]) -> list[FileResult]:
        results: dict[int, FileResult] = {}
        identified: list[tuple[int, Path, str, manifest.FileIdentity]] = []
        for number, (path, source) in enumerate(files):
            try:
                identified.append((number, path, source, manifest.identify(path)))
            except OSError as exc:
                results[number] = self._failed(path, source, "",
                                               f"cannot read {source}: {exc.strerror or exc}")
        loaded = manifest.loaded_checksums(self.conn, [item[3].checksum for item in identified])
        pending = [item for item in identified if item[3].checksum not in loaded]
        for number, path, source, identity in identified:
            if identity.checksum in loaded:
                _say(self.progress, f"{source}: already loaded (same checksum), skipped")
                results[number] = FileResult(path, source, identity.checksum, "skipped")
        load_ids = manifest.reserve_load_ids(self.conn, len(pending)) if pending else []
        todo = [_File(number, path, source, identity, load_id)
                for (number, path, source, identity), load_id in zip(pending, load_ids,
                                                                      strict=True)]
        self.key_filter = KeyFilter.load(self.conn, [f.path for f in todo]) if todo else None
        parallel = sum(f.identity.size_bytes for f in todo) >= PARALLEL_MIN_BYTES
        with ChunkPool() as pool:
            stream = pool.map(self._tasks(todo), parallel)
            for file, pieces in groupby(stream, key=lambda item: item[0].file):
                results[file.number] = self._load_file(file, pieces)
        if self.key_filter is not None:
            self.key_filter.save(self.conn)
        if any(result.loaded for result in results.values()):
            # Fresh statistics for the dbt build that usually follows: autovacuum would get
            # there too, but maybe a minute into that build. A sample, so a second or so.
            self.conn.execute("analyze raw.events")
        return [results[number] for number in range(len(files))]

    def _tasks(self, files: list[_File]) -> Iterator[tuple[_Piece, ChunkContext, LineChunk | None]]:
        """Every chunk of every file, then the file's end (with its read error, if any)."""
        for file in files:
            context = self._context(file)
            error = None
            try:
                for chunk in read_chunks(file.path, self.max_line_bytes, reader.CHUNK_BYTES):
                    yield _Piece(file, chunk), context, chunk
                _check_unchanged(file.path, file.identity)
            except READ_ERRORS as exc:
                error = f"cannot read {file.source}: {exc}"
            yield _Piece(file, error=error), context, None

    def _context(self, file: _File) -> ChunkContext:
        return ChunkContext(file.load_id, file.source, self.projects, self.now,
                            self.max_line_bytes, self.ascii_quarantine)

    def _load_file(
        self, file: _File, pieces: Iterator[tuple[_Piece, ChunkResult | None]]
    ) -> FileResult:
        conn, source, checksum = self.conn, file.source, file.identity.checksum
        manifest.lock(conn, checksum)
        try:
            if manifest.close_interrupted(conn, checksum):
                _say(self.progress, f"{source}: an earlier load was interrupted; loading it again")
            if manifest.loaded_load_id(conn, checksum) is not None:  # by a concurrent loader
                _say(self.progress, f"{source}: already loaded (same checksum), skipped")
                return FileResult(file.path, source, checksum, "skipped")
            previous = manifest.loaded_versions(conn, source)
            manifest.start(conn, file.load_id, source, file.identity, previous + 1)
            started = time.monotonic()
            try:
                with conn.transaction():
                    counts, reasons = self._copy_file(file, pieces)
                    manifest.finish(conn, file.load_id, counts)
            except _FileFailed as exc:
                _record_failure(conn, file.load_id, str(exc))
                _say(self.progress, f"{source}: FAILED: {exc}")
                return self._failed(file.path, source, checksum, str(exc))
            except BaseException as exc:
                _record_failure(conn, file.load_id, f"{type(exc).__name__}: {exc}")
                raise
        finally:
            if not conn.closed:
                manifest.unlock(conn, checksum)
        seconds = time.monotonic() - started
        status = "new_version" if previous else "loaded"
        _say(self.progress, f"{source}: {counts.lines:,} lines: {counts.loaded:,} loaded,"
                            f" {counts.duplicates:,} duplicates, {counts.quarantined:,}"
                            f" quarantined in {seconds:.1f} s"
                            + (f" (version {previous + 1})" if previous else ""))
        return FileResult(
            file.path, source, checksum, status, previous + 1, file.load_id, counts.lines,
            counts.loaded, counts.duplicates, counts.quarantined, dict(reasons), seconds,
        )

    def _copy_file(
        self, file: _File, pieces: Iterable[tuple[_Piece, ChunkResult | None]]
    ) -> tuple[manifest.Counts, Counter]:
        lines = loaded = duplicates = quarantined = 0
        reasons: Counter = Counter()
        last_report = time.monotonic()
        with self.conn.cursor() as cur:
            for piece, result in pieces:
                if result is None:  # the end of the file
                    if piece.error:
                        raise _FileFailed(piece.error)
                    break
                if result.rows:
                    copied, refused = self._copy_new_rows(cur, result)
                    if refused:
                        assert piece.chunk is not None
                        ChunkMapper(self._context(file)).quarantine_refused(
                            piece.chunk, result, refused)
                    loaded += copied
                    duplicates += len(result.rows) - copied - len(refused)
                if result.quarantined:
                    with cur.copy(COPY_QUARANTINE) as copy:
                        copy.write(result.quarantine)
                lines += result.lines
                duplicates += result.duplicates
                quarantined += result.quarantined
                reasons.update(result.reasons)
                if self.progress and time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    assert piece.chunk is not None
                    share = 100 * piece.chunk.position / max(file.identity.size_bytes, 1)
                    self.progress(f"{file.source}: {lines:,} lines ({share:.0f}%)")
        return manifest.Counts(lines, loaded, duplicates, quarantined), reasons

    def _copy_new_rows(
        self, cur: psycopg.Cursor, result: ChunkResult
    ) -> tuple[int, list[tuple[bytes, str]]]:
        """COPY the chunk's rows whose key is not in raw.events yet: how many were copied, and
        the rows PostgreSQL refused, with its message.

        Only the keys the key filter may hold are looked up. A key it lacks, or one another
        loader commits between the check and the COPY, makes the COPY fail on the primary key,
        inside a savepoint: then every key is looked up, and the COPY runs again.
        """
        keys = b"".join(result.keys)
        assert self.key_filter is not None
        for attempt in range(CONCURRENT_COPY_RETRIES):
            if attempt == 0:
                keys_to_check = b"".join(result.keys[i] for i in self.key_filter.maybe(keys))
            else:
                keys_to_check = keys
            existing: set[bytes] = set()
            if keys_to_check:
                found = cur.execute(EXISTING_KEYS, {"keys": keys_to_check})
                existing = {bytes(row[0]) for row in found}
            rows = result.rows
            if existing:
                rows = [row for row, key in zip(rows, result.keys, strict=True)
                        if key not in existing]
            try:
                refused = self._copy_rows(cur, rows)
            except psycopg.errors.UniqueViolation:
                continue
            self.key_filter.add(keys)
            return len(rows) - len(refused), refused
        raise _FileFailed("concurrent loaders kept inserting the same events; load it again")

    def _copy_rows(self, cur: psycopg.Cursor, rows: list[bytes]) -> list[tuple[bytes, str]]:
        """COPY rows into raw.events but those PostgreSQL refuses, returned with its message.

        A value the mapping's checks let through but PostgreSQL refuses (a data error) fails
        the whole COPY, inside its savepoint: the rows are then copied again in halves, down
        to the refused rows alone, rather than failing the load on every rerun. The halves
        share a savepoint, so a unique violation (see _copy_new_rows) undoes all of them.
        When nothing is refused, this is one COPY.
        """
        try:
            with self.conn.transaction(), cur.copy(COPY_EVENTS) as copy:
                copy.write(b"".join((BINARY_HEADER, *rows, BINARY_TRAILER)))
        except psycopg.DataError as exc:
            if len(rows) == 1:
                return [(rows[0], _refusal(exc))]
            middle = len(rows) // 2
            with self.conn.transaction():
                return self._copy_rows(cur, rows[:middle]) + self._copy_rows(cur, rows[middle:])
        return []

    def _failed(self, path: Path, source: str, checksum: str, error: str) -> FileResult:
        return FileResult(path, source, checksum, "failed", error=error)


def _check_unchanged(path: Path, identity: manifest.FileIdentity) -> None:
    """A file still being written would load partly: refuse it (the rerun will retry)."""
    stat = path.stat()
    if stat.st_size != identity.size_bytes or manifest.mtime_of(stat) != identity.mtime:
        raise OSError(f"{path.name} changed while it was being loaded")


def _refusal(exc: psycopg.Error) -> str:
    """PostgreSQL's message for a refused row, with the column its context names."""
    message = exc.diag.message_primary or str(exc)
    column = _COPY_COLUMN.search(exc.diag.context or "")
    return f"{message} (column {column[1]})" if column else message


def _record_failure(conn: psycopg.Connection, load_id: int, error: str) -> None:
    # When the connection is gone, the next loader marks the row interrupted instead.
    with contextlib.suppress(psycopg.Error):
        manifest.fail(conn, load_id, error)


def _say(progress: Progress | None, message: str) -> None:
    if progress:
        progress(message)
