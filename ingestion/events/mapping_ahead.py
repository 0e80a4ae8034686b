"""Mapping chunks ahead of the loader, in a thread.

A thread reads the files (decompressing them) and maps their chunks, at most a few chunks
ahead, while the loader's thread feeds PostgreSQL the previous ones. The mapping is mostly C
(native/fastmap.c), and the database server does half of a load's work: so the thread and
the server each take one core. Memory stays flat however large the file is.

A thread rather than worker processes: passing ~1 KB rows between processes cost a third as
much as mapping them, and the server needs the second core.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterable, Iterator
from queue import Full, Queue
from typing import TypeVar

from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.reader import LineChunk

MAPPED_AHEAD = 4  # chunks
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
    mapped: Queue = Queue(MAPPED_AHEAD)
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


def _map_all(tasks: Iterable[tuple[T, ChunkContext, LineChunk | None]], mapped: Queue,
             stop: threading.Event) -> None:
    """The mapping thread: every task's result in order, then _END or the exception that
    stopped it. Returns soon after `stop` is set (the loader is done, or failed)."""

    def put(item: object) -> bool:
        while not stop.is_set():
            with contextlib.suppress(Full):
                mapped.put(item, timeout=STOP_CHECK_SECONDS)
                return True
        return False

    mapper: ChunkMapper | None = None
    try:
        for tag, context, chunk in tasks:
            result = None
            if chunk is not None:
                if mapper is None or mapper.context != context:
                    mapper = ChunkMapper(context)
                result = mapper.map_chunk(chunk)
            if not put((tag, result)):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the loader's thread, which raises it
        put(exc)
        return
    put(_END)
