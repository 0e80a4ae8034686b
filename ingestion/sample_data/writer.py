"""Byte-reproducible `.ndjson.gz` files: no file name and mtime 0 in the gzip header."""

from __future__ import annotations

import gzip
from pathlib import Path

COMPRESS_LEVEL = 1
_FLUSH_LINES = 2048


class NdjsonGzWriter:
    """Appends lines (bytes, without newline) to one gzip file, in large writes."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._raw = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0,
                                   compresslevel=COMPRESS_LEVEL)
        self._buffer: list[bytes] = []
        self.lines = 0

    def write(self, line: bytes) -> None:
        self._buffer.append(line)
        self.lines += 1
        if len(self._buffer) >= _FLUSH_LINES:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._buffer.append(b"")
            self._gzip.write(b"\n".join(self._buffer))
            self._buffer.clear()

    def close(self) -> int:
        """Finish the file; returns its size in bytes."""
        self._flush()
        self._gzip.close()
        self._raw.close()
        return self.path.stat().st_size
