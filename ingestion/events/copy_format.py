"""The COPY columns of raw.events and raw.quarantine, and quarantine rows in COPY text format.

Events go in PostgreSQL's binary COPY format, written by the native module (`encode_row`,
native/rows.c): their columns are listed here and checked against its own list.

Quarantine rows go in the text format: tab-separated, `\\N` for null, backslash escapes.
Values are escaped once here, so nothing a line holds (tabs, backslashes, newlines inside
strings, quotes) can shift a column. NUL cannot be escaped in COPY text: raw text is made
NUL-free by `raw_text`.
"""

from __future__ import annotations

import re

from ingestion.events import _fastmap
from ingestion.events.web import UTM_PARAMETERS

# The columns the loader writes, in COPY order (`loaded_at` keeps its default): the mapped
# columns (shapes.Mapped.columns), the documents, then what the loader adds.
MAPPED_COLUMNS = (
    "project_id", "message_id", "source_shape", "event_type", "event_name",
    "is_page_view", "is_identify", "is_scroll", "is_click", "cta_label",
    "anonymous_id", "user_id", "client_session_id",
    "event_at", "client_event_at", "sent_at", "received_at",
    "page_url", "page_path", "page_title", "page_referrer",
    "user_agent", "ip", "locale", "timezone", "screen_width", "screen_height", "scroll_pct",
    "platform", "channel", "library_name", "library_version",
    *UTM_PARAMETERS,
    "revenue",
)
EVENT_COLUMNS = (
    *MAPPED_COLUMNS, "properties", "traits", "extra", "event_key", "load_id", "line_number",
)
_fastmap.check_columns(EVENT_COLUMNS)
# A binary COPY stream: the signature, flags and header extension, then rows, then -1.
BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
BINARY_TRAILER = b"\xff\xff"
QUARANTINE_COLUMNS = (
    "load_id", "source_path", "line_number", "raw_text", "reason", "message", "project_id",
)

NULL = "\\N"
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def escape(value: str) -> str:
    """One text value, escaped for COPY text format."""
    return value.translate(_ESCAPES) if _SPECIAL.search(value) else value


def raw_text(line: bytes) -> str:
    """A line as storable text: invalid UTF-8 as `\\xNN`, NUL as `\\x00`."""
    return line.decode("utf-8", "backslashreplace").replace("\x00", "\\x00")


def quarantine_row(
    load_id: int, source_path: str, line_number: int, raw: str, reason: str, message: str,
    project_id: str | None, ascii_only: bool = False,
) -> bytes:
    """A raw.quarantine row. `ascii_only` (a warehouse whose encoding is not UTF-8, such as
    LATIN1, which cannot store every character) turns the raw text's and message's other
    characters into backslash escapes (`\\xe9`, `\\u6f22`)."""
    if ascii_only:
        raw, message = (text.encode("ascii", "backslashreplace").decode()
                        for text in (raw, message))
    fields = [str(load_id), escape(source_path), str(line_number), escape(raw), reason,
              escape(message.replace("\x00", "\\x00")),
              NULL if project_id is None else escape(project_id)]
    return ("\t".join(fields) + "\n").encode()
