"""Turning a session's abstract events into the four line shapes of SPEC 3.2.

An abstract event is a tuple `(t, kind, name, page, props, channel, user_id)`:
`t` is the real time in epoch milliseconds, `kind` one of page, screen, track, click,
scroll, form_start, form_submit, identify; `page` a `(url, path, title, referrer)` tuple
or None. Each serializer returns the line as a dict (the writer encodes it), built
field by field in the order an SDK would send them; `encode` makes it a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from random import Random
from typing import Any

import orjson

from ingestion.sample_data.catalog import MOBILE, SEGMENT, SERVER, TRACKER
from ingestion.sample_data.draws import below, between
from ingestion.sample_data.population import Visitor

Event = tuple[int, str, str | None, tuple[str, str, str, str] | None, dict | None, str, str | None]

_EPOCH = date(1970, 1, 1)


def encode(value: object) -> bytes:
    """Compact JSON in UTF-8, as SDKs send it (orjson: ten times the stdlib's speed)."""
    return orjson.dumps(value)


@lru_cache(maxsize=8192)
def _day(days_since_epoch: int) -> str:
    return (_EPOCH + timedelta(days=days_since_epoch)).isoformat()


def _clock(ms: int) -> tuple[str, int, int, int, int]:
    seconds, millis = divmod(ms, 1000)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return _day(days), hours, minutes, seconds, millis


def iso_utc(ms: int) -> str:
    """2026-10-31T14:03:09.120Z"""
    day, h, m, s, f = _clock(ms)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{f:03d}Z"


def iso_offset(ms: int, offset_minutes: int) -> str:
    """The same instant written in a local offset: 2026-10-31T19:33:09.120+05:30."""
    day, h, m, s, f = _clock(ms + offset_minutes * 60_000)
    sign = "+" if offset_minutes >= 0 else "-"
    oh, om = divmod(abs(offset_minutes), 60)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{f:03d}{sign}{oh:02d}:{om:02d}"


def iso_micro(ms: int) -> str:
    """Laravel's JSON dates: 2026-10-31T14:03:09.120000Z"""
    day, h, m, s, f = _clock(ms)
    return f"{day}T{h:02d}:{m:02d}:{s:02d}.{f:03d}000Z"


def sql_utc(ms: int) -> str:
    """SQLite's CURRENT_TIMESTAMP style, no offset (so UTC): 2026-10-31 14:03:09.120"""
    day, h, m, s, f = _clock(ms)
    return f"{day} {h:02d}:{m:02d}:{s:02d}.{f:03d}"


@dataclass(slots=True)
class SessionInfo:
    """What the serializers need to know about the session an event belongs to."""

    visitor: Visitor
    client_id: str          # the SDK's own session id (kept as client_session_id)
    latency_ms: int         # network latency of this session's requests
    flush_ms: int | None    # when an offline client finally sent the events (late data)


_LIBRARIES = {
    "web": {"name": "analytics.js", "version": "next-1.74.0"},
    "ios": {"name": "analytics-ios", "version": "4.1.8"},
    "server": {"name": "analytics-node", "version": "2.1.2"},
}
_IOS_APP = {"name": "Orbit", "version": "4.2.0", "build": "420"}
_MOBILE_APP_VERSION = {"android": "5.12.0", "ios": "5.12.1"}


def segment(ev: Event, session: SessionInfo, key_field: str, key: str, rng: Random) -> dict:
    t, kind, name, page, props, channel, user_id = ev
    visitor = session.visitor
    if channel == "server":  # the shop's backend: synchronised clock, same data centre
        sent = t + between(rng, 5, 250)
        received = sent
        timestamp, sent_at = iso_utc(t), iso_utc(sent)
    else:
        real_sent = session.flush_ms
        if real_sent is None:  # analytics.js sends in small batches
            real_sent = t + between(rng, 50, 9000)
        received = real_sent + session.latency_ms
        skew = visitor.skew_ms
        if visitor.offset_times:
            timestamp = iso_offset(t + skew, visitor.tz_offset_minutes)
            sent_at = iso_offset(real_sent + skew, visitor.tz_offset_minutes)
        else:
            timestamp, sent_at = iso_utc(t + skew), iso_utc(real_sent + skew)
    if channel == "ios":
        message_id = f"{rng.getrandbits(128):032X}"
        message_id = (f"{message_id[:8]}-{message_id[8:12]}-{message_id[12:16]}-"
                      f"{message_id[16:20]}-{message_id[20:]}")
    else:
        message_id = f"{'node' if channel == 'server' else 'ajs'}-next-{rng.getrandbits(128):032x}"
    if kind == "page":
        seg_type, event_name = "page", None
    elif kind == "screen":
        seg_type, event_name = "screen", None
    elif kind == "identify":
        seg_type, event_name = "identify", None
    else:
        seg_type, event_name = "track", kind if kind in ("click", "scroll", "form_start",
                                                          "form_submit") else name
    line: dict[str, Any] = {"message_id": message_id, "type": seg_type}
    if event_name is not None:
        line["event"] = event_name
    line[key_field] = key
    line["anonymous_id"] = visitor.anon_id
    line["user_id"] = user_id
    line["session_id"] = session.client_id
    line["timestamp"] = timestamp
    line["sent_at"] = sent_at
    line["received_at"] = iso_utc(received)
    context: dict[str, Any]
    if channel == "server":
        context = {"ip": visitor.ip, "channel": "server", "library": _LIBRARIES["server"]}
    else:
        context = {}
        if page is not None:
            url, path, title, referrer = page
            context["page"] = {"url": url, "path": path, "title": title, "referrer": referrer}
        if channel == "ios":
            context["app"] = _IOS_APP
            context["os"] = {"name": "iOS", "version": "18.1"}
        else:
            context["user_agent"] = visitor.device.user_agent
        context["ip"] = visitor.ip
        context["locale"] = visitor.locale
        context["timezone"] = visitor.timezone
        width, height = visitor.device.screen
        if width:  # scripts (curl, python-requests) have no screen
            context["screen"] = {"width": width, "height": height}
        context["channel"] = "mobile" if channel == "ios" else "web"
        context["library"] = _LIBRARIES[channel]
    line["context"] = context
    if kind == "identify":
        line["traits"] = props
    elif kind == "click":
        line["properties"] = {"label": name, **(props or {})}
    elif kind == "page":
        line["properties"] = {"title": page[2]} if page else {}
    elif kind == "screen":
        line["properties"] = {"name": name}
    else:
        line["properties"] = props or {}
    return line


def tracker(ev: Event, session: SessionInfo, key: str, rng: Random) -> dict:
    t, kind, name, page, props, _, _ = ev
    visitor = session.visitor
    url, path, title, referrer = page if page else (None, None, None, None)
    if kind == "track":
        event_type = "custom"
    elif kind == "page":
        event_type = "page_view"
    else:
        event_type = kind
    line: dict[str, Any] = {
        "public_key": key,
        "visitor_key": visitor.anon_id,
        "session_key": session.client_id,
        "event_type": event_type,
        "name": name if kind in ("track", "click") else event_type,
        "url": url,
        "path": path,
    }
    if kind == "click":
        width, height = visitor.device.viewport
        line["selector"] = props["selector"] if props else None
        line["x"] = below(rng, max(width, 1))
        line["y"] = below(rng, max(height, 1)) + below(rng, 2000)
    elif kind == "scroll":
        line["scroll_pct"] = props["scroll_pct"]
    if kind == "page":
        line["meta"] = {"title": title, "referrer": referrer or None}
    elif kind == "track" and props:
        line["meta"] = props
    line["created_at"] = iso_micro(t)
    line["user_agent"] = visitor.device.user_agent
    line["timezone"] = visitor.timezone
    width, height = visitor.device.viewport
    line["viewport_w"], line["viewport_h"] = (width, height) if width else (None, None)
    return line


def mobile(ev: Event, session: SessionInfo, key: str) -> dict:
    t, kind, name, _, props, channel, _ = ev
    properties = {"app_version": _MOBILE_APP_VERSION[channel]}
    if kind == "screen":
        properties["screen"] = name
        name = "screen_view"
    if props:
        properties.update(props)
    return {"api_key": key, "event_name": name, "session_id": session.visitor.anon_id,
            "timestamp_ms": t, "platform": channel, "properties": properties}


def server(ev: Event, session: SessionInfo, key: str, rng: Random) -> dict:
    t, kind, name, page, props, _, user_id = ev
    properties: dict[str, Any] = {}
    if kind == "page":
        name = "page_view"
        url, path, title, referrer = page
        properties = {"url": url, "path": path, "title": title, "referrer": referrer or None,
                      "user_agent": session.visitor.device.user_agent}
    if props:
        properties.update(props)
    # The analytics server stores properties as TEXT: older rows come back as a JSON string.
    stored: dict | str = encode(properties).decode() if rng.random() < 0.3 else properties
    return {"event_type": name, "user_id": user_id, "session_id": session.client_id or None,
            "properties": stored, "created_at": sql_utc(t), "project_key": key}


def serialize(shape: str, ev: Event, session: SessionInfo, key: str, rng: Random) -> dict:
    if shape == TRACKER:
        return tracker(ev, session, key, rng)
    if shape == SEGMENT:
        key_field = "project_key" if ev[5] == "ios" else "write_key"
        return segment(ev, session, key_field, key, rng)
    if shape == MOBILE:
        return mobile(ev, session, key)
    if shape == SERVER:
        return server(ev, session, key, rng)
    raise ValueError(f"unknown shape {shape}")


# Where each shape keeps its project key, event time and identity (for malformed lines).
KEY_FIELD = {SEGMENT: "write_key", MOBILE: "api_key", SERVER: "project_key", TRACKER: "public_key"}
TIME_FIELD = {SEGMENT: "timestamp", MOBILE: "timestamp_ms", SERVER: "created_at",
              TRACKER: "created_at"}
IDENTITY_FIELDS = {SEGMENT: ("anonymous_id", "user_id"), MOBILE: ("session_id",),
                   SERVER: ("user_id", "session_id"), TRACKER: ("visitor_key",)}
NAME_FIELD = {SEGMENT: "event", MOBILE: "event_name", SERVER: "event_type", TRACKER: "name"}
