"""A Bloom filter of raw.events' keys: the loader asks PostgreSQL only about keys it may hold.

Looking a chunk's keys up in raw.events' primary key costs PostgreSQL ~2 µs a key, a fifth of
a load, and nearly every key of a load is new. The filter answers "certainly new" for 99.9% of
the new keys, so only the rest are looked up. It is a hint, never the judge: a key it lacks
(a filter saved before a crash, or overwritten by a concurrent loader) makes the COPY fail on
the primary key, and the loader then checks that chunk's keys in full
(loader._copy_new_rows). Keys it holds but the table does not (deleted by retention, or of a
load that rolled back) only cost a lookup.

Kept in raw.event_key_filter (one row), read when a run starts and saved when it ends;
rebuilt from raw.events when missing, or when the run's files could fill it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from ingestion.events import _fastmap

BITS_PER_KEY = 16  # with native/fastmap.c's 7 probes: ~0.1% false positives
MIN_CAPACITY = 1_000_000
# Lines a file may hold, for sizing the filter: an event line has at least this many bytes
# (gzip shrinks JSON lines 5 to 10 times; a generous bound only costs memory).
MIN_BYTES_PER_LINE = {".gz": 20, "": 100}
# uuid_send(event_key) in COPY text format: `\\x`, 32 hex digits, a newline.
_KEY_TEXT_BYTES = 36


@dataclass
class KeyFilter:
    bits: bytearray
    capacity: int
    keys: int  # keys added, duplicates included

    @classmethod
    def empty(cls, capacity: int) -> KeyFilter:
        capacity = max(capacity, MIN_CAPACITY)
        return cls(bytearray(capacity * BITS_PER_KEY // 8), capacity, 0)

    @classmethod
    def load(cls, conn: psycopg.Connection, files: list[Path]) -> KeyFilter:
        """The saved filter, or one rebuilt from raw.events with room for these files' lines."""
        new = sum(path.stat().st_size // MIN_BYTES_PER_LINE[".gz" if path.suffix == ".gz" else ""]
                  for path in files)
        row = conn.execute(
            "select bits, capacity, keys_added from raw.event_key_filter").fetchone()
        if row is not None and row[2] + new <= row[1]:
            return cls(bytearray(row[0]), row[1], row[2])
        stored = conn.execute("select count(*) from raw.events").fetchone()[0]
        rebuilt = cls.empty(2 * stored + new)  # room to grow: rebuilt when nearly full
        rebuilt._add_stored_keys(conn)
        return rebuilt

    def maybe(self, keys: bytes) -> list[int]:
        """The indexes of the 16-byte keys (end to end) that raw.events may hold."""
        return _fastmap.bloom_maybe(self.bits, keys)

    def add(self, keys: bytes) -> None:
        _fastmap.bloom_add(self.bits, keys)
        self.keys += len(keys) // 16

    def save(self, conn: psycopg.Connection) -> None:
        conn.execute(
            "insert into raw.event_key_filter (filter_id, bits, capacity, keys_added)"
            " values (1, %b, %s, %s) on conflict (filter_id) do update set bits = excluded.bits,"
            " capacity = excluded.capacity, keys_added = excluded.keys_added, saved_at = now()",
            (bytes(self.bits), self.capacity, self.keys),
        )

    def _add_stored_keys(self, conn: psycopg.Connection) -> None:
        pending = b""
        with conn.cursor() as cur, cur.copy(
            "copy (select uuid_send(event_key) from raw.events) to stdout"
        ) as copy:
            for block in copy:
                pending += bytes(block)
                whole = len(pending) - len(pending) % _KEY_TEXT_BYTES
                text, pending = pending[:whole], pending[whole:]
                self.add(bytes.fromhex(text.replace(b"\\\\x", b"").replace(b"\n", b"").decode()))
