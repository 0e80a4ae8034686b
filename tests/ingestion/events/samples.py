"""Sample lines of every shape, and the projects they belong to."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import orjson

from ingestion.projects import Project

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
SHOP = Project("shop", "Shop", ("wk_shop", "pub_shop"), revenue_property="amount",
               retention_days=365)
APP = Project("app", "App", ("ak_app",), timezone="Europe/Paris")
API = Project("api", "API server", ("pk_api",), retention_days=30)
PROJECTS = [SHOP, APP, API]


def segment(**fields: object) -> dict:
    event = {
        "message_id": "m-1", "type": "track", "event": "purchase", "write_key": "wk_shop",
        "anonymous_id": "anon-1", "user_id": "user-1", "session_id": "cs-1",
        "timestamp": "2025-03-10T10:00:00Z",
        "context": {
            "page": {"url": "https://shop.test/cart?utm_source=fb&utm_ad_id=42&x=1",
                     "path": "/cart", "title": "Cart", "referrer": "https://google.com/"},
            "user_agent": "Mozilla/5.0 Firefox/120", "ip": "203.0.113.77", "locale": "fr-FR",
            "timezone": "Europe/Paris", "screen": {"width": 1920, "height": 1080},
            "channel": "web", "library": {"name": "analytics.js", "version": "4.1"},
        },
        "properties": {"amount": 19.5, "label": "Buy now"},
        "traits": {"plan": "pro"},
    }
    event.update(fields)
    return event


def mobile(**fields: object) -> dict:
    event = {"api_key": "ak_app", "event_name": "screen_view", "session_id": "sess-9",
             "timestamp_ms": 1741600800000, "platform": "android",
             "properties": {"screen": "home", "amount": "3.5"}}
    event.update(fields)
    return event


def server(**fields: object) -> dict:
    event = {"event_type": "page_view", "user_id": "u-7", "session_id": "s-7",
             "properties": '{"url": "https://api.test/docs?utm_medium=email", "variant": "B"}',
             "created_at": "2025-03-10 09:30:00", "project_key": "pk_api"}
    event.update(fields)
    return event


def tracker(**fields: object) -> dict:
    event = {"public_key": "pub_shop", "visitor_key": "vis-3", "session_key": "sk-3",
             "event_type": "click", "name": "Sign up", "url": "https://shop.test/?utm_campaign=spring",
             "path": "/", "selector": "#signup", "scroll_pct": 40, "x": 10, "y": 20,
             "meta": {"amount": "12.50"}, "created_at": "2025-03-10T11:00:00+01:00",
             "user_agent": "Mozilla/5.0 Safari/605", "timezone": "Europe/Paris",
             "viewport_w": 1280, "viewport_h": 720}
    event.update(fields)
    return event


def line(event: object) -> bytes:
    return orjson.dumps(event)


def write(path: Path, lines: list[bytes]) -> Path:
    """An .ndjson or .ndjson.gz file of these lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"".join(item + b"\n" for item in lines)
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path
