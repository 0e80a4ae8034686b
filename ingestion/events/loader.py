"""Loading landing files into `raw.events` and `raw.quarantine` (SPEC 3.2 and 4).

One connection serves the whole run. Files are hashed first, and those whose content is
loaded already are skipped without being read. The rest stream through the mapping thread
(mapping_ahead.py) in file order, so it maps the next chunks while this thread copies the
current ones.

Files go in batches (batch.py): several in one transaction and one COPY stream, the rows
whose keys raw.events may hold already (key_filter.py) held back and looked up together, so
that the first copy of every (project, message id) is kept and the others are counted as
duplicates. Rejected lines go to `raw.quarantine`. The manifest rows turn `loaded` in that
same transaction, so a crash leaves each file whole or absent, and the rerun loads the
missing ones from the start.

When a batch fails (a file that cannot be read whole, a row PostgreSQL refuses, a key another
loader commits meanwhile), its files are loaded again one by one, each in a transaction of its
own, chunk by chunk in savepoints: the rows PostgreSQL refuses a value of are quarantined
(reason `rejected_by_database`) and the others loaded.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
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
from ingestion.events.batch import (
    BATCH_ROWS,
    COPY_EVENTS,
    COPY_QUARANTINE,
    RETRY_ALONE,
    Batch,
    BatchFailed,
    existing_keys,
)
from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.copy_format import BINARY_HEADER, BINARY_TRAILER
from ingestion.events.key_filter import KeyFilter
from ingestion.events.landing import check_landing_dir, find_event_files, source_path
from ingestion.events.mapping_ahead import mapped_ahead
from ingestion.events.reader import LineChunk, read_chunks
from ingestion.postgres import connection
from ingestion.projects import Project, write_projects
from ingestion.warehouse import ensure_raw_schema

Progress = Callable[[str], None]

PROGRESS_EVERY_SECONDS = 2.0
CONCURRENT_COPY_RETRIES = 3

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
    """Loading a list of files over one connection, the mapping done ahead by a thread."""

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
        self.previous_versions: dict[int, int] = {}  # by load id
        self.last_report = time.monotonic()

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
        pending: dict[str, tuple[int, Path, str, manifest.FileIdentity]] = {}
        for number, path, source, identity in identified:
            if identity.checksum in loaded or identity.checksum in pending:
                _say(self.progress, f"{source}: already loaded (same checksum), skipped")
                results[number] = FileResult(path, source, identity.checksum, "skipped")
            else:
                pending[identity.checksum] = (number, path, source, identity)
        if pending:
            self._load_pending(list(pending.values()), results)
            # The build that reads these rows analyzes raw.events when it was modified since
            # its last analyze (dbt's on-run-start): the count it reads is flushed here, not
            # whenever this session ends.
            self.conn.execute("select pg_stat_force_next_flush()")
        return [results[number] for number in range(len(files))]

    def _load_pending(self, pending: list[tuple[int, Path, str, manifest.FileIdentity]],
                      results: dict[int, FileResult]) -> None:
        """Load files of distinct contents not loaded yet, under their locks, in batches."""
        load_ids = manifest.reserve_load_ids(self.conn, len(pending))
        files = [_File(number, path, source, identity, load_id)
                 for (number, path, source, identity), load_id in zip(pending, load_ids,
                                                                      strict=True)]
        checksums = [file.identity.checksum for file in files]
        manifest.lock(self.conn, checksums)
        try:
            todo = []
            for file, started in zip(files, manifest.start(
                    self.conn, [(f.load_id, f.source, f.identity) for f in files]), strict=True):
                if started.interrupted:
                    _say(self.progress,
                         f"{file.source}: an earlier load was interrupted; loading it again")
                if started.loaded:  # by a concurrent loader
                    _say(self.progress, f"{file.source}: already loaded (same checksum), skipped")
                    results[file.number] = FileResult(file.path, file.source,
                                                      file.identity.checksum, "skipped")
                else:
                    self.previous_versions[file.load_id] = started.previous_versions
                    todo.append(file)
            self.key_filter = KeyFilter.load(self.conn, [file.path for file in todo])
            with contextlib.closing(mapped_ahead(self._tasks(todo))) as stream:
                files_stream = groupby(stream, key=lambda item: item[0].file)
                for first in files_stream:
                    results.update(self._load_batch(first, files_stream))
            self.key_filter.save(self.conn)
        finally:
            if not self.conn.closed:
                manifest.unlock(self.conn, checksums)

    def _load_batch(
        self, first: tuple[_File, Iterator[tuple[_Piece, ChunkResult | None]]],
        rest: Iterator[tuple[_File, Iterator[tuple[_Piece, ChunkResult | None]]]],
    ) -> dict[int, FileResult]:
        """The first file and the next ones, until the batch is full, in one transaction;
        when that fails, the same files one by one (_load_alone)."""
        assert self.key_filter is not None
        files: list[_File] = []
        try:
            with self.conn.transaction(), Batch(self.conn, self.key_filter) as batch:
                for file, pieces in itertools.chain([first], rest):
                    files.append(file)
                    batch.add(file.load_id, self._reported(file, pieces))
                    if batch.rows >= BATCH_ROWS:
                        break
                tallies = batch.finish()
        except (BatchFailed, *RETRY_ALONE):
            return {file.number: self._load_alone(file) for file in files}
        return {file.number: self._result(file, tallies[file.load_id].counts(),
                                          tallies[file.load_id].reasons,
                                          tallies[file.load_id].seconds)
                for file in files}

    def _reported(self, file: _File, pieces: Iterable[tuple[_Piece, ChunkResult | None]]
                  ) -> Iterator[tuple[ChunkResult | None, str | None]]:
        """The file's (result, read error) pairs, reporting progress as they are taken."""
        lines = 0
        for piece, result in pieces:
            yield result, piece.error
            if result is not None:
                lines += result.lines
                self._report(file, lines, piece)

    def _report(self, file: _File, lines: int, piece: _Piece) -> None:
        if self.progress and time.monotonic() - self.last_report >= PROGRESS_EVERY_SECONDS:
            self.last_report = time.monotonic()
            assert piece.chunk is not None
            share = 100 * piece.chunk.position / max(file.identity.size_bytes, 1)
            self.progress(f"{file.source}: {lines:,} lines ({share:.0f}%)")

    def _load_alone(self, file: _File) -> FileResult:
        """A file in a transaction of its own, mapped here, with a savepoint per chunk."""
        mapper = ChunkMapper(self._context(file))
        pieces = ((piece, None if chunk is None else mapper.map_chunk(chunk))
                  for piece, _, chunk in self._tasks([file]))
        started = time.monotonic()
        try:
            with self.conn.transaction():
                counts, reasons = self._copy_file(file, pieces)
                manifest.finish(self.conn, {file.load_id: counts})
        except _FileFailed as exc:
            _record_failure(self.conn, file.load_id, str(exc))
            _say(self.progress, f"{file.source}: FAILED: {exc}")
            return self._failed(file.path, file.source, file.identity.checksum, str(exc))
        except BaseException as exc:
            _record_failure(self.conn, file.load_id, f"{type(exc).__name__}: {exc}")
            raise
        return self._result(file, counts, reasons, time.monotonic() - started)

    def _result(self, file: _File, counts: manifest.Counts, reasons: Counter,
                seconds: float) -> FileResult:
        previous = self.previous_versions[file.load_id]
        _say(self.progress, f"{file.source}: {counts.lines:,} lines: {counts.loaded:,} loaded,"
                            f" {counts.duplicates:,} duplicates, {counts.quarantined:,}"
                            f" quarantined in {seconds:.1f} s"
                            + (f" (version {previous + 1})" if previous else ""))
        return FileResult(
            file.path, file.source, file.identity.checksum,
            "new_version" if previous else "loaded", previous + 1, file.load_id, counts.lines,
            counts.loaded, counts.duplicates, counts.quarantined, dict(reasons), seconds,
        )

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

    def _copy_file(
        self, file: _File, pieces: Iterable[tuple[_Piece, ChunkResult | None]]
    ) -> tuple[manifest.Counts, Counter]:
        lines = loaded = duplicates = quarantined = 0
        reasons: Counter = Counter()
        with self.conn.cursor() as cur:
            for piece, result in pieces:
                if result is None:  # the end of the file
                    if piece.error:
                        raise _FileFailed(piece.error)
                    break
                if len(result):
                    copied, refused = self._copy_new_rows(cur, result)
                    if refused:
                        assert piece.chunk is not None
                        ChunkMapper(self._context(file)).quarantine_refused(
                            piece.chunk, result, refused)
                    loaded += copied
                    duplicates += len(result) - copied - len(refused)
                if result.quarantined:
                    with cur.copy(COPY_QUARANTINE) as copy:
                        copy.write(result.quarantine)
                lines += result.lines
                duplicates += result.duplicates
                quarantined += result.quarantined
                reasons.update(result.reasons)
                self._report(file, lines, piece)
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
        assert self.key_filter is not None
        rows, keys = result.row_list(), result.key_list()
        for attempt in range(CONCURRENT_COPY_RETRIES):
            if attempt == 0:
                candidates = b"".join(keys[i] for i in self.key_filter.maybe(result.keys))
            else:
                candidates = result.keys
            existing = existing_keys(cur, candidates)
            new_rows = ([row for row, key in zip(rows, keys, strict=True) if key not in existing]
                        if existing else rows)
            try:
                refused = self._copy_rows(cur, new_rows)
            except psycopg.errors.UniqueViolation:
                continue
            self.key_filter.add(result.keys)
            return len(new_rows) - len(refused), refused
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
