"""One chunk of lines in, COPY rows for events and quarantine out (runs in worker processes).

Every line ends in exactly one place: an event row, a duplicate of an earlier line of the
same chunk (duplicates against the database are found later, by the loader's key check), or
a quarantine row. Nothing here touches the database, so it can run on another core.

Lines go to the native fast path first (native/fastmap.c); the few it declines (anything but
the common, well-typed line) are mapped by shapes.py, which quarantines the bad ones.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from ingestion.events import _fastmap
from ingestion.events import validation as v
from ingestion.events.copy_format import MAPPED_COLUMNS, quarantine_row, raw_text
from ingestion.events.reader import OVERSIZE_KEPT_BYTES, LineChunk
from ingestion.events.shapes import (
    MAPPERS,
    MOBILE,
    READ_FIELDS,
    SEGMENT,
    SERVER,
    TRACKER,
    Mapped,
    detect_shape,
    unread_fields,
)
from ingestion.events.validation import Rejected
from ingestion.projects import Project, project_by_key

FUTURE_TOLERANCE = timedelta(days=1)

_KEY_FIELDS = ("write_key", "project_key", "api_key", "public_key")


@dataclass(frozen=True)
class ChunkContext:
    """What every chunk of one file needs; sent once to each worker."""

    load_id: int
    source_path: str
    projects: tuple[Project, ...]
    now: datetime
    max_line_bytes: int
    ascii_quarantine: bool = False  # the warehouse is not UTF-8: see quarantine_row


@dataclass
class ChunkResult:
    """A chunk's lines mapped: its new rows (the first copy of each key), end to end in key
    order (so that the primary key's inserts, and the key lookups, visit each index page once
    per chunk rather than once per row), and its quarantine rows."""

    lines: int = 0
    rows: bytes = b""  # binary COPY rows of raw.events
    keys: bytes = b""  # their event_key (see event_key()), 16 bytes each
    ends: bytes = b""  # where each row ends in `rows`, native int64s
    duplicates: int = 0
    quarantine: bytes = b""
    quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.keys) // 16

    def row_list(self) -> list[bytes]:
        ends = memoryview(self.ends).cast("q")
        return [self.rows[start:end] for start, end in zip([0, *ends[:-1]], ends, strict=True)]

    def key_list(self) -> list[bytes]:
        return [self.keys[at:at + 16] for at in range(0, len(self.keys), 16)]


def line_number_of(row: bytes) -> int:
    """The line number of an event row: its last field, a binary int8."""
    return int.from_bytes(row[-8:], "big", signed=True)


def event_key(project_id: str, message_id: str) -> bytes:
    """raw.events.event_key's 16 bytes: the md5 of project id, newline, message id (the
    dedup key, computed here to check a chunk's keys before copying)."""
    return hashlib.md5(f"{project_id}\n{message_id}".encode()).digest()


def unix_us(moment: datetime) -> int:
    return (moment - v.EPOCH) // timedelta(microseconds=1)


class ChunkMapper:
    def __init__(self, context: ChunkContext):
        self.context = context
        self.by_key = project_by_key(list(context.projects))
        self.latest = context.now + FUTURE_TOLERANCE
        self.oldest = {p.project_id: context.now - timedelta(days=p.retention_days)
                       for p in context.projects}
        native_projects = {key: (project.project_id, project.revenue_property,
                                 unix_us(self.oldest[project.project_id]))
                           for key, project in self.by_key.items()}
        read_fields = tuple(READ_FIELDS[shape] for shape in (SEGMENT, MOBILE, SERVER, TRACKER))
        self.native_context = (native_projects, unix_us(self.latest), context.load_id,
                               context.max_line_bytes, read_fields)

    def map_chunk(self, chunk: LineChunk) -> ChunkResult:
        """Map a chunk's lines (complete lines; the last one may lack its newline)."""
        if chunk.oversize:
            return self._oversize(chunk)
        first_line = chunk.first_line
        quarantine: list[bytes] = []
        reasons: Counter = Counter()

        def mapped_here(line: bytes, number: int) -> tuple[bytes, bytes] | None:
            """A line the native fast path declined: its row and key, or None (quarantined)."""
            try:
                return self.event_row(self.map_line(line, number == 1), number)
            except Rejected as rejected:
                quarantine.append(self.quarantine(number, line, rejected))
                reasons[rejected.reason] += 1
                return None

        lines, rows, keys, ends, duplicates = _fastmap.map_chunk(
            chunk.data, first_line, self.native_context, mapped_here)
        return ChunkResult(lines, rows, keys, ends, duplicates, b"".join(quarantine),
                           len(quarantine), reasons)

    def quarantine_refused(
        self, chunk: LineChunk, result: ChunkResult, refused: list[tuple[bytes, str]]
    ) -> None:
        """Move event rows PostgreSQL refused, with its message, to the chunk's quarantine."""
        lines = chunk.data.split(b"\n")
        quarantine = [result.quarantine]
        for row, message in refused:
            number = line_number_of(row)
            rejected = Rejected(v.REJECTED_BY_DATABASE, message)
            quarantine.append(self.quarantine(number, lines[number - chunk.first_line], rejected))
        result.quarantine = b"".join(quarantine)
        result.quarantined += len(refused)
        result.reasons[v.REJECTED_BY_DATABASE] += len(refused)

    def _oversize(self, chunk: LineChunk) -> ChunkResult:
        rejected = Rejected(v.OVERSIZE_LINE, self._oversize_message(chunk.oversize))
        row = self.quarantine(chunk.first_line, chunk.data, rejected)
        return ChunkResult(lines=1, quarantine=row, quarantined=1,
                           reasons=Counter({v.OVERSIZE_LINE: 1}))

    def _oversize_message(self, size: int) -> str:
        return (f"line of {size} bytes exceeds the limit of {self.context.max_line_bytes}"
                f" (raw text keeps the first {OVERSIZE_KEPT_BYTES} bytes)")

    def map_line(self, line: bytes, first_of_file: bool) -> Mapped:
        if len(line) > self.context.max_line_bytes:
            raise Rejected(v.OVERSIZE_LINE, self._oversize_message(len(line)))
        if first_of_file and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]  # a UTF-8 byte-order mark, as some editors write
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise _unreadable(line, exc) from None
        if not isinstance(event, dict):
            raise Rejected(v.NOT_AN_OBJECT, f"a JSON {v.describe(event)}, not an object")
        if b"\\u0000" in line and v.contains_nul(event):
            raise Rejected(v.NUL_CHARACTER, "a string holds \\u0000")
        shape = detect_shape(event)
        if shape is None:
            raise Rejected(v.UNKNOWN_SHAPE, f"keys match no shape: {sorted(event)[:8]}")
        try:
            mapped = MAPPERS[shape](event, self.by_key)
        except orjson.JSONEncodeError:  # the content id's serialisation
            raise _too_deep() from None
        if mapped.event_at > self.latest:
            raise Rejected(v.TIME_IN_FUTURE, f"event time {mapped.event_at} is after {self.latest}")
        oldest = self.oldest[mapped.project.project_id]
        if mapped.event_at < oldest:
            raise Rejected(v.TIME_TOO_OLD, f"event time {mapped.event_at} is before {oldest}"
                           f" ({mapped.project.retention_days} days of retention)")
        return mapped

    def event_row(self, mapped: Mapped, number: int) -> tuple[bytes, bytes]:
        """The binary COPY row (EVENT_COLUMNS' order) and event key of a line shapes.py mapped."""
        columns = mapped.columns
        columns["message_id"] = mapped.message_id
        try:
            extra = unread_fields(mapped.event, READ_FIELDS[str(columns["source_shape"])])
            documents = (_json(mapped.properties), _json(mapped.traits), _json(extra))
        except orjson.JSONEncodeError:
            raise _too_deep() from None
        key = event_key(mapped.project.project_id, mapped.message_id)
        row = _fastmap.encode_row((*map(columns.get, MAPPED_COLUMNS), *documents, key,
                                   self.context.load_id, number))
        return row, key

    def quarantine(self, number: int, line: bytes, rejected: Rejected) -> bytes:
        kept = line[:OVERSIZE_KEPT_BYTES] if rejected.reason == v.OVERSIZE_LINE else line
        return quarantine_row(self.context.load_id, self.context.source_path, number,
                              raw_text(kept.removesuffix(b"\r")), rejected.reason,
                              rejected.message,
                              None if kept is not line else self._project_hint(line),
                              self.context.ascii_quarantine)

    def _project_hint(self, line: bytes) -> str | None:
        """The project of a rejected line when its key is readable (for per-project review)."""
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(event, dict):
            return None
        for key_field in _KEY_FIELDS:
            key = event.get(key_field)
            if isinstance(key, str) and key in self.by_key:
                return self.by_key[key].project_id
        return None


def _json(document: dict | None) -> bytes | None:
    return None if document is None else orjson.dumps(document)


def _too_deep() -> Rejected:
    return Rejected(v.TOO_DEEP, "objects and arrays nested deeper than 254 levels")


def _unreadable(line: bytes, exc: orjson.JSONDecodeError) -> Rejected:
    if b"\x00" in line:
        return Rejected(v.NUL_CHARACTER, "the line holds a NUL byte")
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Rejected(v.INVALID_UTF8, f"not UTF-8: {bad.reason} at byte {bad.start}")
    if not line.strip():
        return Rejected(v.EMPTY_LINE, "the line is empty")
    if "depth" in str(exc) or "recursion" in str(exc).lower():
        return _too_deep()
    return Rejected(v.INVALID_JSON, f"not JSON: {exc}")
