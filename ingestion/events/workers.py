"""Mapping chunks on the other core: worker processes map, the loader process copies.

Results come back in file order, and at most a few chunks are in flight, so memory stays
flat however large the file is. A thread reads (and decompresses) the files and hands their
chunks to the workers, so that it all happens while the loader waits on PostgreSQL. Small
files are mapped in-process: starting workers would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from queue import Full, Queue
from typing import TypeVar

from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.reader import LineChunk

IN_FLIGHT_PER_WORKER = 4
PARENT_CHECK_SECONDS = 0.5
STOP_CHECK_SECONDS = 0.1
_END = object()
_worker_mapper: ChunkMapper | None = None
T = TypeVar("T")


def default_workers() -> int:
    """One per core: PostgreSQL's backend shares the machine, so no more than that."""
    return max(1, min(os.cpu_count() or 1, 4))


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: exit when the loader dies (even by SIGKILL).

    Pool queues hold both ends of their pipes in the workers, so they would never see EOF
    and would linger forever; a parent-pid watch ends them within a second.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _feed(executor: ProcessPoolExecutor, tasks: Iterable[tuple[T, ChunkContext, LineChunk | None]],
          submitted: Queue, stop: threading.Event) -> None:
    """The reader thread: submit every task, in order, at most the queue's size ahead; then
    _END, or the exception that stopped it. Returns when `stop` is set (the loader is done)."""

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                submitted.put(item, timeout=STOP_CHECK_SECONDS)
                return True
            except Full:
                continue
        return False

    try:
        for tag, context, chunk in tasks:
            future = None if chunk is None else executor.submit(_map_in_worker, context, chunk)
            if not put((tag, future)):
                return
    except BaseException as exc:  # noqa: BLE001 - handed to the loader, which raises it
        put(exc)
        return
    put(_END)


def _map_in_worker(context: ChunkContext, chunk: LineChunk) -> ChunkResult:
    global _worker_mapper
    if _worker_mapper is None or _worker_mapper.context != context:
        _worker_mapper = ChunkMapper(context)
    return _worker_mapper.map_chunk(chunk)


class ChunkPool:
    """A pool of mapping processes, started on first use and reused across files."""

    def __init__(self, workers: int | None = None):
        self.workers = workers if workers is not None else default_workers()
        self._executor: ProcessPoolExecutor | None = None

    def map(
        self, tasks: Iterable[tuple[T, ChunkContext, LineChunk | None]], parallel: bool
    ) -> Iterator[tuple[T, ChunkResult | None]]:
        """(tag, result) pairs in input order; a task without a chunk passes through as None.

        Tasks may span many files (each with its own context), so the workers map the next
        files while the loader copies the current one.
        """
        if not parallel or self.workers <= 1:
            mapper: ChunkMapper | None = None
            for tag, context, chunk in tasks:
                if chunk is None:
                    yield tag, None
                    continue
                if mapper is None or mapper.context != context:
                    mapper = ChunkMapper(context)
                yield tag, mapper.map_chunk(chunk)
            return
        executor = self._start()
        submitted: Queue = Queue(self.workers * IN_FLIGHT_PER_WORKER)
        stop = threading.Event()
        feeder = threading.Thread(target=_feed, args=(executor, tasks, submitted, stop),
                                  name="chunk-reader", daemon=True)
        feeder.start()
        try:
            while (item := submitted.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                tag, future = item
                yield tag, None if future is None else future.result()
        finally:
            stop.set()
            feeder.join()

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            # spawn, not fork: the loader may run inside a threaded process (Dagster).
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent, initargs=(os.getpid(),),
            )
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(cancel_futures=True)
            self._executor = None

    def __enter__(self) -> ChunkPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
