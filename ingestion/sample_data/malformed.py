"""Broken lines of every kind the loader must quarantine, made from real events.

Each kind is named after the quarantine reason the loader should give it
(`ingestion.events.validation`), and each line has exactly that one defect, so a test can
match the generator's counts against the quarantine table.
"""

from __future__ import annotations

import copy
import json
from random import Random

from ingestion.sample_data.catalog import MOBILE, RETIRED_KEYS, SEGMENT, SERVER, TRACKER
from ingestion.sample_data.draws import below, between
from ingestion.sample_data.shapes import (
    IDENTITY_FIELDS,
    KEY_FIELD,
    NAME_FIELD,
    TIME_FIELD,
    encode,
    iso_utc,
    sql_utc,
)

KINDS = (
    "invalid_json", "unknown_project", "missing_time", "missing_identity", "wrong_type",
    "nul_character", "time_in_future", "time_too_old", "invalid_time", "not_an_object",
    "unknown_shape", "invalid_utf8", "missing_event_name", "empty_line",
)
OVERSIZE = "oversize_line"
MALFORMED_PER_THOUSAND = 5

FUTURE_MS = 1_951_826_400_000   # 2031-11-07: far more than a day after any load
TOO_OLD_MS = 1_560_000_000_000  # 2019-06-08: beyond every project's retention
CLOCK_RESET_MS = 86_400_123     # 1970-01-02: a phone whose clock was reset


def _set_time(line: dict, shape: str, ms: int) -> None:
    field = TIME_FIELD[shape]
    if shape == MOBILE:
        line[field] = ms
    elif shape == SERVER:
        line[field] = sql_utc(ms)
    else:
        line[field] = iso_utc(ms)
    if shape == SEGMENT:  # without sent_at there is no skew correction
        line.pop("sent_at", None)


def malformed_line(kind: str, shape: str, template: dict, rng: Random) -> bytes:
    """A line of `kind`, derived from a valid line (`template`) of `shape`; no newline."""
    line = copy.deepcopy(template)
    if kind == "invalid_json":  # a write cut short (at an ASCII byte: still valid UTF-8)
        text = encode(line)
        cut = between(rng, len(text) // 3, len(text) - 1)
        while text[cut] >= 0x80:
            cut -= 1
        return text[:cut]
    if kind == "unknown_project":
        field = "project_key" if shape == SEGMENT and "project_key" in line else KEY_FIELD[shape]
        line[field] = RETIRED_KEYS[shape]
    elif kind == "missing_time":
        del line[TIME_FIELD[shape]]
    elif kind == "missing_identity":
        for field in IDENTITY_FIELDS[shape]:
            line.pop(field, None)
    elif kind == "wrong_type":
        if shape == SEGMENT:
            line["anonymous_id"] = {"id": line["anonymous_id"]}
        elif shape == MOBILE:
            line["properties"] = encode(line["properties"]).decode()  # only the server sends text
        elif shape == SERVER:
            line["user_id"] = {"id": line["user_id"]}
        else:
            line["viewport_w"] = "wide"
    elif kind == "nul_character":
        if shape == TRACKER:
            line["user_agent"] = (line.get("user_agent") or "") + "\x00"
        elif shape == SERVER and isinstance(line["properties"], str):
            line["properties"] = encode({**json.loads(line["properties"]), "note": "\x00"}).decode()
        else:
            line["properties"] = {**(line.get("properties") or {}), "label": "Buy\x00now"}
    elif kind == "time_in_future":
        _set_time(line, shape, FUTURE_MS + below(rng, 86_400_000))
    elif kind == "time_too_old":
        _set_time(line, shape, CLOCK_RESET_MS if shape == MOBILE else TOO_OLD_MS)
    elif kind == "invalid_time":
        line[TIME_FIELD[shape]] = {
            SEGMENT: "yesterday at 5pm",
            MOBILE: "NaN",
            SERVER: "31/10/2026 14:03",
            TRACKER: "Sat Oct 31 2026 14:03:11 GMT-0400 (Eastern Daylight Time)",
        }[shape]
    elif kind == "not_an_object":
        return encode([line])  # a batch array where one event belongs
    elif kind == "unknown_shape":
        return encode({"ping": True, "source": "uptime-monitor", "ts": below(rng, 10**12)})
    elif kind == "invalid_utf8":  # a Latin-1 "é" inside the first string
        text = encode(line)
        cut = text.index(b':"') + 2
        return text[:cut] + b"caf\xe9 " + text[cut:]
    elif kind == "missing_event_name":
        if shape in (SERVER, TRACKER):  # their shape is told by these keys: keep them, null
            line[NAME_FIELD[shape]] = None
            if shape == TRACKER:
                line["event_type"] = None
        else:
            line.pop(NAME_FIELD[shape], None)
            if shape == SEGMENT:
                line["type"] = "track"
    elif kind == "empty_line":
        return b"   "
    else:
        raise ValueError(f"unknown malformed kind {kind}")
    return encode(line)


def oversize_line(template: dict) -> bytes:
    """An event carrying a DOM snapshot of over 1 MB (compresses to almost nothing)."""
    line = copy.deepcopy(template)
    line["properties"] = {"dom_snapshot": '<div class="row"><span>item</span></div>' * 27_000}
    return encode(line)
