"""Shape detection and the mapping of every shape to raw.events columns (SPEC 3.2)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from ingestion.events.chunk import ChunkContext, ChunkMapper
from ingestion.events.shapes import READ_FIELDS, detect_shape, unread_fields
from ingestion.events.validation import Rejected
from ingestion.events.web import truncate_ip, utm_of
from tests.ingestion.events.samples import NOW, PROJECTS, line, mobile, segment, server, tracker


@pytest.fixture
def mapper() -> ChunkMapper:
    return ChunkMapper(ChunkContext(1, "test.ndjson", tuple(PROJECTS), NOW, 100_000))


def columns(mapper: ChunkMapper, event: dict) -> dict:
    """The mapped columns, with the documents and the fields kept in extra."""
    mapped = mapper.map_line(line(event), False)
    extra = unread_fields(mapped.event, READ_FIELDS[mapped.columns["source_shape"]])
    return {**mapped.columns, "message_id": mapped.message_id,
            "properties": mapped.properties, "traits": mapped.traits, "extra": extra}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_segment_maps_every_column(mapper: ChunkMapper) -> None:
    got = columns(mapper, segment())
    expected = {
        "project_id": "shop", "message_id": "m-1", "source_shape": "segment",
        "event_type": "track", "event_name": "purchase", "is_page_view": False,
        "is_identify": False, "is_scroll": False, "is_click": False, "cta_label": None,
        "anonymous_id": "anon-1", "user_id": "user-1", "client_session_id": "cs-1",
        "event_at": utc("2025-03-10T10:00:00"), "client_event_at": utc("2025-03-10T10:00:00"),
        "sent_at": None, "received_at": None,
        "page_url": "https://shop.test/cart?utm_source=fb&utm_ad_id=42&x=1",
        "page_path": "/cart", "page_title": "Cart", "page_referrer": "https://google.com/",
        "user_agent": "Mozilla/5.0 Firefox/120", "ip": "203.0.113.0", "locale": "fr-FR",
        "timezone": "Europe/Paris", "screen_width": 1920, "screen_height": 1080,
        "channel": "web", "library_name": "analytics.js", "library_version": "4.1",
        "utm_source": "fb", "utm_ad_id": "42", "revenue": "19.5",
        "properties": {"amount": 19.5, "label": "Buy now"}, "traits": {"plan": "pro"},
    }
    assert {key: got.get(key) for key in expected} == expected
    assert got.get("utm_medium") is None and got.get("platform") is None
    assert got["extra"] is None  # every field of the line is in a column


def test_segment_clock_skew_uses_received_minus_client_delay(mapper: ChunkMapper) -> None:
    # The client clock is an hour fast: it stamped 10:00:00 and sent 30 s later by its clock.
    got = columns(mapper, segment(timestamp="2025-03-10T10:00:00Z",
                                  sent_at="2025-03-10T10:00:30Z",
                                  received_at="2025-03-10T09:00:40Z"))
    assert got["event_at"] == utc("2025-03-10T09:00:10")
    assert got["client_event_at"] == utc("2025-03-10T10:00:00")
    assert got["sent_at"] == utc("2025-03-10T10:00:30")
    assert got["received_at"] == utc("2025-03-10T09:00:40")
    # Only one of the two: no correction.
    got = columns(mapper, segment(sent_at="2025-03-10T10:00:30Z"))
    assert got["event_at"] == utc("2025-03-10T10:00:00")


@pytest.mark.parametrize(
    ("kind", "name", "page_view", "identify"),
    [("page", "page_view", True, False), ("screen", "page_view", True, False),
     ("identify", "identify", False, True), ("track", "purchase", False, False)],
)
def test_segment_types(mapper: ChunkMapper, kind: str, name: str, page_view: bool,
                       identify: bool) -> None:
    got = columns(mapper, segment(type=kind))
    assert (got["event_name"], got["is_page_view"], got["is_identify"], got["event_type"]) == (
        name, page_view, identify, kind)


def test_segment_identity_falls_back_to_user_id(mapper: ChunkMapper) -> None:
    assert columns(mapper, segment(anonymous_id=None))["anonymous_id"] == "user:user-1"
    with pytest.raises(Rejected) as caught:
        mapper.map_line(line(segment(anonymous_id=None, user_id=None)), False)
    assert caught.value.reason == "missing_identity"


def test_segment_project_key_and_missing_message_id(mapper: ChunkMapper) -> None:
    event = segment(write_key=None, project_key="pub_shop")
    del event["message_id"]
    got = columns(mapper, event)
    assert got["project_id"] == "shop"
    assert len(got["message_id"]) == 64  # a content id


def test_mobile_maps_and_uses_the_content_id(mapper: ChunkMapper) -> None:
    event = mobile()
    got = columns(mapper, event)
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
    assert got["message_id"] == hashlib.sha256(b"ak_app\n" + canonical).hexdigest()
    assert {k: got.get(k) for k in ("project_id", "source_shape", "event_type", "event_name",
                                    "is_page_view", "anonymous_id", "client_session_id",
                                    "event_at", "platform", "revenue", "user_id")} == {
        "project_id": "app", "source_shape": "mobile", "event_type": None,
        "event_name": "screen_view", "is_page_view": True, "anonymous_id": "sess-9",
        "client_session_id": "sess-9", "event_at": utc("2025-03-10T10:00:00"),
        "platform": "android", "revenue": None, "user_id": None,
    }
    # Same content, same id; any change, another id.
    assert columns(mapper, mobile())["message_id"] == got["message_id"]
    assert columns(mapper, mobile(platform="ios"))["message_id"] != got["message_id"]


def test_mobile_accepts_numeric_string_milliseconds(mapper: ChunkMapper) -> None:
    got = columns(mapper, mobile(timestamp_ms="1741600800000"))
    assert got["event_at"] == utc("2025-03-10T10:00:00")


def test_server_parses_string_properties_and_user_identity(mapper: ChunkMapper) -> None:
    got = columns(mapper, server())
    assert {k: got.get(k) for k in ("project_id", "source_shape", "event_type", "event_name",
                                    "is_page_view", "anonymous_id", "user_id",
                                    "client_session_id", "event_at", "page_url", "page_path",
                                    "utm_medium")} == {
        "project_id": "api", "source_shape": "server", "event_type": "page_view",
        "event_name": "page_view", "is_page_view": True, "anonymous_id": "user:u-7",
        "user_id": "u-7", "client_session_id": "s-7", "event_at": utc("2025-03-10T09:30:00"),
        "page_url": "https://api.test/docs?utm_medium=email", "page_path": "/docs",
        "utm_medium": "email",
    }
    assert got["properties"] == {"url": "https://api.test/docs?utm_medium=email", "variant": "B"}
    assert columns(mapper, server(user_id=None))["anonymous_id"] == "s-7"


def test_tracker_click_with_cta_label_and_meta_revenue(mapper: ChunkMapper) -> None:
    got = columns(mapper, tracker())
    assert {k: got.get(k) for k in ("project_id", "source_shape", "event_type", "event_name",
                                    "is_click", "is_scroll", "is_page_view", "cta_label",
                                    "anonymous_id", "client_session_id", "event_at",
                                    "scroll_pct", "screen_width", "screen_height",
                                    "utm_campaign", "revenue", "timezone")} == {
        "project_id": "shop", "source_shape": "tracker", "event_type": "click",
        "event_name": "Sign up", "is_click": True, "is_scroll": False, "is_page_view": False,
        "cta_label": "Sign up", "anonymous_id": "vis-3", "client_session_id": "sk-3",
        "event_at": utc("2025-03-10T10:00:00"), "scroll_pct": "40", "screen_width": 1280,
        "screen_height": 720, "utm_campaign": "spring", "revenue": "12.50",
        "timezone": "Europe/Paris",
    }
    unnamed = columns(mapper, tracker(name=None))
    assert (unnamed["event_name"], unnamed["cta_label"]) == ("click", "#signup")
    labelled = columns(mapper, tracker(name=None, selector=None, meta={"label": "Hero"}))
    assert labelled["cta_label"] == "Hero"


def test_scroll_and_non_click_events(mapper: ChunkMapper) -> None:
    scroll = columns(mapper, tracker(event_type="scroll", name=None))
    assert (scroll["is_scroll"], scroll["is_click"], scroll["cta_label"]) == (True, False, None)
    assert columns(mapper, segment(event="scroll"))["is_scroll"] is True
    assert columns(mapper, segment(event="click"))["cta_label"] == "Buy now"


def test_detect_shape() -> None:
    assert [detect_shape(e) for e in (segment(), mobile(), server(), tracker())] == [
        "segment", "mobile", "server", "tracker"]
    assert detect_shape({"foo": 1}) is None


def test_ip_truncation() -> None:
    assert truncate_ip("203.0.113.77") == "203.0.113.0"
    assert truncate_ip("2001:db8:abcd:1234::1") == "2001:db8:abcd::"
    assert truncate_ip("10.0.0.1, 203.0.113.7") is None
    assert truncate_ip("not an ip") is None
    assert truncate_ip("\u0662\u0660\u0663.0.113.7") is None  # Arabic-Indic digits


@pytest.mark.parametrize("address", [
    "::ffff:203.0.113.7", "::FFFF:203.0.113.77", "::ffff:cb00:7107", "::ffff:203.0.113.7%eth0",
])
def test_ipv4_mapped_ipv6_truncates_to_the_ipv4_network(address: str) -> None:
    """An IPv4-mapped address is the IPv4 address (a dual-stack socket's view of it)."""
    assert truncate_ip(address) == "203.0.113.0"


def test_6to4_ipv6_keeps_only_the_24_of_its_ipv4() -> None:
    # 2002:cb00:7107::/48 is 6to4 for 203.0.113.7: its /48 would keep the whole address.
    assert truncate_ip("2002:cb00:7107:12::1") == "2002:cb00:7100::"
    assert truncate_ip("2002:cb00:71ff::") == "2002:cb00:7100::"


@pytest.mark.parametrize(("context_ip", "column", "stored_context_ip"), [
    ("203.0.113.77", "203.0.113.0", "203.0.113.0"),
    ("unknown", "198.51.100.0", None),  # unreadable: dropped, the top-level address is used
])
def test_segment_truncates_both_ips_in_column_and_extra(
    mapper: ChunkMapper, context_ip: str, column: str, stored_context_ip: str | None
) -> None:
    """SPEC 4: truncated in the typed column and in what is stored of the line alike (the
    top-level address is kept in extra: the column holds context.ip when there is one)."""
    event = segment(ip="198.51.100.23")
    event["context"]["ip"] = context_ip
    mapped = mapper.map_line(line(event), False)
    assert mapped.columns["ip"] == column
    assert (mapped.event["ip"], mapped.event["context"]["ip"]) == (
        "198.51.100.0", stored_context_ip)
    assert columns(mapper, event)["extra"] == {"ip": "198.51.100.0"}


@pytest.mark.parametrize(("timestamp", "instant"), [
    ("2025-03-10T10:00:00+15:59", "2025-03-09T18:01:00"),
    ("2025-03-10T10:00:00-15:59", "2025-03-11T01:59:00"),
    ("2025-03-10T10:00:00+16:00", "2025-03-09T18:00:00"),  # beyond PostgreSQL's offsets
    ("2025-03-10T10:00:00.5-23:59", "2025-03-11T09:59:00.5"),
    ("2025-03-10 10:00:00+05:60", "2025-03-10T04:00:00"),  # Python reads +06:00
])
def test_offsets_are_read_as_python_reads_them(
    mapper: ChunkMapper, timestamp: str, instant: str
) -> None:
    """Times reach PostgreSQL as instants (binary COPY), so any offset Python reads is stored."""
    mapped = mapper.map_line(line(segment(timestamp=timestamp, sent_at=timestamp)), False)
    assert (mapped.columns["event_at"], mapped.columns["client_event_at"],
            mapped.columns["sent_at"]) == (utc(instant),) * 3


ID_FIELDS = [
    (segment, "anonymous_id"), (segment, "user_id"), (segment, "message_id"),
    (segment, "session_id"), (mobile, "session_id"), (server, "user_id"), (server, "session_id"),
    (tracker, "visitor_key"), (tracker, "session_key"),
]


@pytest.mark.parametrize(("shape", "field"), ID_FIELDS)
def test_ids_longer_than_512_characters_are_quarantined(
    mapper: ChunkMapper, shape: Callable[..., dict], field: str
) -> None:
    """Ids are indexed downstream, and a btree entry holds about 2700 bytes at most."""
    longest = "\u00e9" * 512
    assert longest in columns(mapper, shape(**{field: longest})).values()
    with pytest.raises(Rejected) as caught:
        mapper.map_line(line(shape(**{field: "x" * 3000})), False)
    assert (caught.value.reason, caught.value.message) == (
        "id_too_long", f"{field} has 3000 characters, more than 512")


def test_utm_of() -> None:
    assert utm_of("https://x.test/p?utm_source=a%20b&utm_source=z&fbclid=F1#utm_term=no") == {
        "utm_source": "a b", "fbclid": "F1"}
    assert utm_of("https://x.test/p?utm_campaign=%00x") == {"utm_campaign": "%00x"}
    assert utm_of(None) == {}


@pytest.mark.parametrize("address", [
    "2001:db8:abcd:1234::1", "2001:0DB8:ABCD:1234:0:0:0:1", "2001:db8:0:1::", "2001:0:0:1::1",
    "::1", "fe80::1%eth0", " 2001:db8:abcd:12::5 ",
])
def test_ipv6_truncation_matches_the_standard_library(address: str) -> None:
    import ipaddress

    network = ipaddress.ip_network(f"{ipaddress.ip_address(address.strip())}/48", strict=False)
    assert truncate_ip(address) == str(network.network_address)
