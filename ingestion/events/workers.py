"""Mapping chunks on the other core: worker processes map, the loader process copies.

Results come back in file order, and at most a few chunks are in flight, so memory stays
flat however large the file is. Small files are mapped in-process: starting workers would
cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TypeVar

from ingestion.events.chunk import ChunkContext, ChunkMapper, ChunkResult
from ingestion.events.reader import LineChunk

IN_FLIGHT_PER_WORKER = 4
PARENT_CHECK_SECONDS = 0.5
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
        pending: deque[tuple[T, Future[ChunkResult] | None]] = deque()
        limit = self.workers * IN_FLIGHT_PER_WORKER
        for tag, context, chunk in tasks:
            future = None if chunk is None else executor.submit(_map_in_worker, context, chunk)
            pending.append((tag, future))
            while len(pending) > limit or (pending and pending[0][1] is None):
                done, oldest = pending.popleft()
                yield done, None if oldest is None else oldest.result()
        while pending:
            done, oldest = pending.popleft()
            yield done, None if oldest is None else oldest.result()

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
