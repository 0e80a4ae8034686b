"""The four SDK shapes of SPEC 3.2: which one a line is, and how it maps to `raw.events`.

Each mapper reads one parsed line and returns a `Mapped` event whose `columns` hold the
typed columns as Python values (str, bool, int, aware datetime, numeric as decimal text;
None for null), or raises `Rejected`. Mappers also truncate IP addresses in the parsed line
itself, so the content id and the fields kept in `extra` never see a full address.

What a shape's mapping reads is listed in READ_FIELDS; whatever else a line holds goes to
raw.events.extra, so no field an SDK sends is lost.

This is the reference mapping; native/fastmap.c maps the common lines the same way, faster,
and leaves every other line to these functions.

A content id (the message id of shapes that have none) is the sha256, in hex, of the UTF-8
project key, a newline, and the line's JSON re-serialised with its keys sorted at every
depth and no whitespace (after IP truncation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import orjson

from ingestion.events import validation as v
from ingestion.events.validation import Rejected
from ingestion.events.web import path_of, truncate_ip, utm_of
from ingestion.projects import Project

SEGMENT, MOBILE, SERVER, TRACKER = "segment", "mobile", "server", "tracker"

# Keys that only one shape uses, tried in this order (a tracker line has `event_type` too).
_DISTINCTIVE_KEYS = (
    (TRACKER, ("public_key", "visitor_key", "session_key")),
    (MOBILE, ("api_key", "timestamp_ms", "event_name")),
    (SEGMENT, ("write_key", "message_id", "type", "anonymous_id")),
    (SERVER, ("event_type",)),
)


# The fields each mapping reads into columns; nested objects as dicts of their fields. A field
# read only sometimes (Segment's top-level `ip` and `context.traits`, fallbacks of other
# fields) is not listed: it is kept in extra too.
Fields = dict[str, "Fields | bool"]
_SEGMENT_CONTEXT: Fields = {
    "page": {"url": True, "path": True, "title": True, "referrer": True},
    "user_agent": True, "ip": True, "locale": True, "timezone": True,
    "screen": {"width": True, "height": True}, "channel": True,
    "library": {"name": True, "version": True},
}
READ_FIELDS: dict[str, Fields] = {
    SEGMENT: dict.fromkeys(("message_id", "type", "event", "write_key", "project_key",
                            "anonymous_id", "user_id", "session_id", "timestamp", "sent_at",
                            "received_at", "properties", "traits"), True)
    | {"context": _SEGMENT_CONTEXT},
    MOBILE: dict.fromkeys(("api_key", "event_name", "session_id", "timestamp_ms", "platform",
                           "properties", "ip"), True),
    SERVER: dict.fromkeys(("event_type", "user_id", "session_id", "properties", "created_at",
                           "project_key", "ip"), True),
    TRACKER: dict.fromkeys(("public_key", "visitor_key", "session_key", "event_type", "name",
                            "url", "path", "meta", "created_at", "user_agent", "timezone",
                            "viewport_w", "viewport_h", "scroll_pct", "ip"), True),
}


def unread_fields(document: dict, read: Fields) -> dict | None:
    """The document without the fields `read` lists (None when nothing is left)."""
    rest = {}
    for key, value in document.items():
        spec = read.get(key)
        if spec is None:
            rest[key] = value
        elif isinstance(spec, dict) and isinstance(value, dict):
            inner = unread_fields(value, spec)
            if inner is not None:
                rest[key] = inner
    return rest or None


@dataclass(slots=True)
class Mapped:
    project: Project
    message_id: str
    event_at: datetime
    columns: dict[str, object]
    properties: dict | None
    traits: dict | None
    event: dict  # the parsed line, IP addresses truncated


def detect_shape(event: dict) -> str | None:
    for shape, keys in _DISTINCTIVE_KEYS:
        for key in keys:
            if key in event:
                return shape
    return None


def _project(projects: dict[str, Project], value: object, field: str) -> tuple[str, Project]:
    key = v.text(value, field)
    if key is None:
        raise Rejected(v.UNKNOWN_PROJECT, f"{field} is missing")
    project = projects.get(key)
    if project is None:
        # Only a prefix: a mistyped key may be a secret of another system.
        raise Rejected(v.UNKNOWN_PROJECT, f"{field} {key[:4]!r}... belongs to no project")
    return key, project


def _required_time(value: object, field: str, read: Callable[[object, str], datetime]) -> datetime:
    if value is None or value == "":
        raise Rejected(v.MISSING_TIME, f"{field} is missing")
    return read(value, field)


def _content_id(key: str, event: dict) -> str:
    canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(key.encode() + b"\n" + canonical).hexdigest()


def _truncate_ip_in(container: dict, field: str) -> str | None:
    """Truncate `container[field]` in place (extra keeps only the truncated form)."""
    raw = container.get(field)
    if raw is None:
        return None
    truncated = truncate_ip(raw) if isinstance(raw, str) else None
    container[field] = truncated
    return truncated


def _prop_text(properties: dict | None, name: str) -> str | None:
    value = properties.get(name) if properties else None
    return value if isinstance(value, str) and value else None


def _finish(
    project: Project,
    shape: str,
    event_type: str | None,
    event_name: str | None,
    properties: dict | None,
    columns: dict[str, object],
) -> dict[str, object]:
    """Columns every shape derives the same way: flags, page fallbacks, CTA, UTM, revenue."""
    if event_name is None:
        raise Rejected(v.MISSING_EVENT_NAME, "no event name")
    if columns.get("anonymous_id") is None:
        raise Rejected(v.MISSING_IDENTITY, "no anonymous id, user id or session id")
    for column in ("page_url", "page_path", "page_title", "page_referrer"):
        if columns.get(column) is None:
            columns[column] = _prop_text(properties, column.removeprefix("page_"))
    url = columns["page_url"]
    if columns["page_path"] is None and url:
        columns["page_path"] = path_of(url)
    is_tracker = shape == TRACKER
    is_click = event_name == "click" or (is_tracker and event_type == "click")
    columns["project_id"] = project.project_id
    columns["source_shape"] = shape
    columns["event_type"] = event_type
    columns["event_name"] = event_name
    columns["is_scroll"] = event_name == "scroll" or (is_tracker and event_type == "scroll")
    columns["is_click"] = is_click
    if is_click and columns.get("cta_label") is None:
        columns["cta_label"] = _prop_text(properties, "label")
    elif not is_click:
        columns["cta_label"] = None
    if url:
        columns.update(utm_of(url))
    if properties:
        columns["revenue"] = v.decimal_text(properties.get(project.revenue_property))
    return columns


Mapper = Callable[[dict, dict[str, Project]], Mapped]


def map_segment(event: dict, projects: dict[str, Project]) -> Mapped:
    key_field = "write_key" if event.get("write_key") is not None else "project_key"
    key, project = _project(projects, event.get(key_field), key_field)
    kind = v.text(event.get("type"), "type") or "track"
    context = v.obj(event.get("context"), "context") or {}
    page = v.obj(context.get("page"), "context.page") or {}
    screen = v.obj(context.get("screen"), "context.screen") or {}
    library = v.obj(context.get("library"), "context.library") or {}
    properties = v.obj(event.get("properties"), "properties")
    traits = v.obj(event.get("traits"), "traits")
    if traits is None:
        traits = v.obj(context.get("traits"), "context.traits")

    client_at = _required_time(event.get("timestamp"), "timestamp", v.iso_time)
    sent_at = v.optional_iso_time(event.get("sent_at"), "sent_at")
    received_at = v.optional_iso_time(event.get("received_at"), "received_at")
    event_at = client_at
    if sent_at is not None and received_at is not None:
        try:  # client clock skew (SPEC 4)
            event_at = received_at - (sent_at - client_at)
        except OverflowError:
            raise Rejected(v.INVALID_TIME, "skew-corrected time is out of range") from None

    if kind in ("page", "screen"):
        name = "page_view"
    elif kind == "identify":
        name = "identify"
    else:
        name = v.text(event.get("event"), "event") or (kind if kind != "track" else None)
    user_id = v.identifier(event.get("user_id"), "user_id")
    anonymous_id = v.identifier(event.get("anonymous_id"), "anonymous_id")
    if anonymous_id is None and user_id is not None:
        anonymous_id = "user:" + user_id
    # Both places are truncated (extra keeps the top-level one); the column prefers context.ip.
    context_ip, top_level_ip = _truncate_ip_in(context, "ip"), _truncate_ip_in(event, "ip")
    ip = context_ip or top_level_ip
    message_id = v.identifier(event.get("message_id"), "message_id")
    if message_id is None:  # not in SPEC's shape, but better a content id than a rejection
        message_id = _content_id(key, event)

    columns = {
        "is_page_view": kind in ("page", "screen"),
        "is_identify": kind == "identify",
        "anonymous_id": anonymous_id,
        "user_id": user_id,
        "client_session_id": v.identifier(event.get("session_id"), "session_id"),
        "event_at": event_at,
        "client_event_at": client_at,
        "sent_at": sent_at,
        "received_at": received_at,
        "page_url": v.text(page.get("url"), "context.page.url"),
        "page_path": v.text(page.get("path"), "context.page.path"),
        "page_title": v.text(page.get("title"), "context.page.title"),
        "page_referrer": v.text(page.get("referrer"), "context.page.referrer"),
        "user_agent": v.text(context.get("user_agent"), "context.user_agent"),
        "ip": ip,
        "locale": v.text(context.get("locale"), "context.locale"),
        "timezone": v.text(context.get("timezone"), "context.timezone"),
        "screen_width": v.integer(screen.get("width"), "context.screen.width"),
        "screen_height": v.integer(screen.get("height"), "context.screen.height"),
        "scroll_pct": v.decimal_text(properties.get("scroll_pct")) if properties else None,
        "channel": v.text(context.get("channel"), "context.channel"),
        "library_name": v.text(library.get("name"), "context.library.name"),
        "library_version": v.text(library.get("version"), "context.library.version"),
    }
    columns = _finish(project, SEGMENT, kind, name, properties, columns)
    return Mapped(project, message_id, event_at, columns, properties, traits, event)


def map_mobile(event: dict, projects: dict[str, Project]) -> Mapped:
    key, project = _project(projects, event.get("api_key"), "api_key")
    event_at = _required_time(event.get("timestamp_ms"), "timestamp_ms", v.epoch_ms_time)
    properties = v.obj(event.get("properties"), "properties")
    name = v.text(event.get("event_name"), "event_name")
    session_id = v.identifier(event.get("session_id"), "session_id")
    ip = _truncate_ip_in(event, "ip")
    columns = {
        "is_page_view": name in ("page_view", "screen_view"),
        "is_identify": False,
        "anonymous_id": session_id,
        "client_session_id": session_id,
        "event_at": event_at,
        "client_event_at": event_at,
        "ip": ip,
        "platform": v.text(event.get("platform"), "platform"),
        "scroll_pct": v.decimal_text(properties.get("scroll_pct")) if properties else None,
    }
    columns = _finish(project, MOBILE, None, name, properties, columns)
    return Mapped(project, _content_id(key, event), event_at, columns, properties, None, event)


def map_server(event: dict, projects: dict[str, Project]) -> Mapped:
    key, project = _project(projects, event.get("project_key"), "project_key")
    event_at = _required_time(event.get("created_at"), "created_at", v.iso_time)
    properties = v.json_object(event.get("properties"), "properties")
    name = v.text(event.get("event_type"), "event_type")
    user_id = v.identifier(event.get("user_id"), "user_id")
    session_id = v.identifier(event.get("session_id"), "session_id")
    ip = _truncate_ip_in(event, "ip")
    columns = {
        "is_page_view": name == "page_view",
        "is_identify": False,
        "anonymous_id": "user:" + user_id if user_id is not None else session_id,
        "user_id": user_id,
        "client_session_id": session_id,
        "event_at": event_at,
        "client_event_at": event_at,
        "ip": ip,
        "scroll_pct": v.decimal_text(properties.get("scroll_pct")) if properties else None,
    }
    columns = _finish(project, SERVER, name, name, properties, columns)
    return Mapped(project, _content_id(key, event), event_at, columns, properties, None, event)


def map_tracker(event: dict, projects: dict[str, Project]) -> Mapped:
    key, project = _project(projects, event.get("public_key"), "public_key")
    event_at = _required_time(event.get("created_at"), "created_at", v.iso_time)
    meta = v.json_object(event.get("meta"), "meta")
    kind = v.text(event.get("event_type"), "event_type")
    name = v.text(event.get("name"), "name") or kind
    selector = v.text(event.get("selector"), "selector")
    ip = _truncate_ip_in(event, "ip")
    columns = {
        "is_page_view": kind == "page_view",
        "is_identify": False,
        "cta_label": v.text(event.get("name"), "name") or selector,
        "anonymous_id": v.identifier(event.get("visitor_key"), "visitor_key"),
        "client_session_id": v.identifier(event.get("session_key"), "session_key"),
        "event_at": event_at,
        "client_event_at": event_at,
        "page_url": v.text(event.get("url"), "url"),
        "page_path": v.text(event.get("path"), "path"),
        "user_agent": v.text(event.get("user_agent"), "user_agent"),
        "ip": ip,
        "timezone": v.text(event.get("timezone"), "timezone"),
        "screen_width": v.integer(event.get("viewport_w"), "viewport_w"),
        "screen_height": v.integer(event.get("viewport_h"), "viewport_h"),
        "scroll_pct": v.number(event.get("scroll_pct"), "scroll_pct"),
    }
    # x and y are checked for type only: they stay in extra.
    v.integer(event.get("x"), "x")
    v.integer(event.get("y"), "y")
    columns = _finish(project, TRACKER, kind, name, meta, columns)
    return Mapped(project, _content_id(key, event), event_at, columns, meta, None, event)


MAPPERS: dict[str, Mapper] = {
    SEGMENT: map_segment,
    MOBILE: map_mobile,
    SERVER: map_server,
    TRACKER: map_tracker,
}
