"""Reading a landing file as chunks of whole lines, in memory bounded by the chunk size.

A line longer than `max_line_bytes` with no newline in sight is not buffered whole: its
first bytes are kept for the quarantine and the rest is skipped, so one endless line cannot
exhaust memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from isal import igzip  # gzip with Intel's ISA-L: decompresses ~3x faster than zlib

from ingestion.events._fastmap import count_lines

CHUNK_BYTES = 4 * 1024 * 1024
OVERSIZE_KEPT_BYTES = 64 * 1024


@dataclass(frozen=True)
class LineChunk:
    first_line: int
    data: bytes
    oversize: int = 0  # when set: one line of this many bytes, `data` its kept prefix
    position: int = 0  # bytes of the file (compressed, for .gz) read so far


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def read_chunks(
    path: Path, max_line_bytes: int, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[LineChunk]:
    with open(path, "rb") as raw:
        stream: BinaryIO = igzip.GzipFile(fileobj=raw) if is_gzip(path) else raw  # type: ignore[assignment]
        yield from _chunks(stream, raw, max_line_bytes, chunk_bytes)


def _chunks(
    stream: BinaryIO, raw: BinaryIO, max_line_bytes: int, chunk_bytes: int
) -> Iterator[LineChunk]:
    line = 1
    buffer = b""
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        buffer = buffer + block if buffer else block
        cut = buffer.rfind(b"\n") + 1
        if cut:
            data, buffer = buffer[:cut], buffer[cut:]
            yield LineChunk(line, data, position=raw.tell())
            line += count_lines(data)
        elif len(buffer) > max_line_bytes:
            prefix = buffer[:OVERSIZE_KEPT_BYTES]
            size, buffer = _skip_rest_of_line(stream, len(buffer), chunk_bytes)
            yield LineChunk(line, prefix, oversize=size, position=raw.tell())
            line += 1
    if buffer:
        yield LineChunk(line, buffer, position=raw.tell())


def _skip_rest_of_line(stream: BinaryIO, size: int, chunk_bytes: int) -> tuple[int, bytes]:
    """Read past the end of an oversize line; its full size and what follows it."""
    while block := stream.read(chunk_bytes):
        end = block.find(b"\n")
        if end >= 0:
            return size + end, block[end + 1:]
        size += len(block)
    return size, b""
