"""Streaming lines in bounded chunks, oversize lines included."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from ingestion.events.reader import OVERSIZE_KEPT_BYTES, read_chunks


@pytest.mark.parametrize("name", ["f.ndjson", "f.ndjson.gz"])
def test_chunks_cover_every_line_once_with_numbers(tmp_path: Path, name: str) -> None:
    lines = [b'{"n": %d}' % i for i in range(1000)]
    lines[500] = b"y" * 300_000  # longer than a chunk and than the limit
    data = b"\n".join(lines)  # the last line has no newline
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)

    chunks = list(read_chunks(path, max_line_bytes=100_000, chunk_bytes=4096))
    seen: list[tuple[int, bytes]] = []
    for chunk in chunks:
        if chunk.oversize:
            assert (chunk.oversize, len(chunk.data)) == (300_000, OVERSIZE_KEPT_BYTES)
            seen.append((chunk.first_line, b"<oversize>"))
            continue
        parts = chunk.data.split(b"\n")
        if parts[-1] == b"":
            parts.pop()
        seen.extend(enumerate(parts, chunk.first_line))
    expected = [(i + 1, b"<oversize>" if i == 500 else text) for i, text in enumerate(lines)]
    assert seen == expected
    assert chunks[-1].position == path.stat().st_size
    assert max(len(chunk.data) for chunk in chunks) < 200_000  # never the whole long line
