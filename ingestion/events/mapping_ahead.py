"""Mapping chunks ahead of the loader, in a thread.

A thread reads the files (decompressing them) and maps their chunks while the loader's thread
feeds PostgreSQL the previous ones. It runs up to MAPPED_AHEAD_BYTES ahead (the chunks and
their rows): a sorted run's worth (batch.SORTED_RUN_ROWS), so that PostgreSQL copies one run
while the next is mapped. The mapping is mostly C (native/fastmap.c) under the GIL, and the
database server does nearly half of a load's work: so the loader's process and the server
each take one core. Memory stays bounded however large the file is.

A thread rather than worker processes: passing ~1 KB rows between processes cost a third as
much as mapping them, and the server needs the second core.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TypeVar

from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.reader import LineChunk

MAPPED_AHEAD_BYTES = 32 * 1024 * 1024  # chunks and their rows waiting: ~30,000 lines
STOP_CHECK_SECONDS = 0.1
# How soon the loader's thread gets the GIL back from the mapping when it needs it (the native
# mapping lets go of it every millisecond or so): with Python's 5 ms, PostgreSQL would wait
# for its next rows a tenth of the time.
SWITCH_INTERVAL_SECONDS = 0.0005
_END = object()

T = TypeVar("T")


def mapped_ahead(
    tasks: Iterable[tuple[T, ChunkContext, LineChunk | None]],
) -> Iterator[tuple[T, ChunkResult | None]]:
    """(tag, result) pairs in input order; a task without a chunk passes through as None.

    Tasks may span many files (each with its own context), so the thread maps the next files
    while the loader copies the current one. An error of the thread is raised here.
    """
    mapped = _Pipe(MAPPED_AHEAD_BYTES)
    stop = threading.Event()
    thread = threading.Thread(target=_map_all, args=(tasks, mapped, stop),
                              name="chunk-mapper", daemon=True)
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(SWITCH_INTERVAL_SECONDS, previous_interval))
    thread.start()
    try:
        while (item := mapped.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous_interval)


class _Pipe:
    """A queue bounded by the bytes its items hold (any one item goes in)."""

    def __init__(self, limit: int):
        self.limit = limit
        self.items: deque[tuple[object, int]] = deque()
        self.size = 0
        self.changed = threading.Condition()

    def put(self, item: object, size: int, stop: threading.Event) -> bool:
        """False when `stop` is set before there is room."""
        with self.changed:
            while self.items and self.size + size > self.limit:
                if stop.is_set():
                    return False
                self.changed.wait(STOP_CHECK_SECONDS)
            self.items.append((item, size))
            self.size += size
            self.changed.notify_all()
            return True

    def get(self) -> object:
        with self.changed:
            while not self.items:
                self.changed.wait()
            item, size = self.items.popleft()
            self.size -= size
            self.changed.notify_all()
            return item


def _map_all(tasks: Iterable[tuple[T, ChunkContext, LineChunk | None]], mapped: _Pipe,
             stop: threading.Event) -> None:
    """The mapping thread: every task's result in order, then _END or the exception that
    stopped it. Returns soon after `stop` is set (the loader is done, or failed)."""
    mapper: ChunkMapper | None = None
    try:
        for tag, context, chunk in tasks:
            result, size = None, 0
            if chunk is not None:
                if mapper is None or mapper.context != context:
                    mapper = ChunkMapper(context)
                result = mapper.map_chunk(chunk)
                size = len(chunk.data) + len(result.rows)  # the tag holds the chunk
            if not mapped.put((tag, result), size, stop):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the loader's thread, which raises it
        mapped.put(exc, 0, stop)
        return
    mapped.put(_END, 0, stop)
