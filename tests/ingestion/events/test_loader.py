"""Loading files into the raw layer: counts, manifest, dedup, quarantine, hostile content."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from ingestion.errors import BeaconError
from ingestion.events import reader
from ingestion.events.chunk import event_key
from ingestion.events.landing import find_event_files, pending_files
from ingestion.events.loader import load_file, load_landing
from ingestion.events.retention import delete_expired_events
from ingestion.warehouse import ensure_raw_schema
from tests.ingestion.events.samples import (
    NOW,
    PROJECTS,
    line,
    mobile,
    segment,
    server,
    tracker,
    write,
)

MAX_LINE = 20_000

GOOD = [
    line(segment()),
    line(mobile()),
    line(server()),
    line(tracker()),
    line(segment(message_id="m-2", type="page")),
]
DUPLICATES = [
    line(segment(event="changed but same message id")),  # duplicate of m-1: first copy kept
    line(mobile()),  # the same content: the same content id
]
BAD = {
    b'{"event": ': "invalid_json",
    b"[1, 2]": "not_an_object",
    b'{"foo": 1}': "unknown_shape",
    line(segment(message_id="m-x", write_key="wk_nope")): "unknown_project",
    line(segment(message_id="m-t", timestamp=None)): "missing_time",
    line(tracker(created_at="yesterday")): "invalid_time",
    line(segment(message_id="m-s", sent_at="soon", received_at="2025-03-10T10:00:00Z")):
        "invalid_time",
    line(tracker(visitor_key=None)): "missing_identity",
    line(segment(message_id="m-n", event=None)): "missing_event_name",
    line(segment(message_id="m-c", context="a string")): "wrong_type",
    line(tracker(viewport_w="wide")): "wrong_type",
    line(mobile(properties=[1, 2])): "wrong_type",
    line(tracker(viewport_w=2**40)): "wrong_type",
    line(segment(message_id="m-big", properties={"blob": "x" * MAX_LINE})): "oversize_line",
    line(segment(message_id="m-0", event="a\u0000b")): "nul_character",
    b'{"event": "raw \x00 byte"}': "nul_character",
    b'{"event": "\xff\xfe"}': "invalid_utf8",
    line(segment(message_id="m-f", timestamp="2025-03-16T13:00:00Z")): "time_in_future",
    line(server(created_at="2025-01-01T00:00:00Z")): "time_too_old",
    b"   ": "empty_line",
}


def mixed_lines() -> list[bytes]:
    """Good, duplicate and bad lines interleaved."""
    bad = list(BAD)
    mixed: list[bytes] = []
    for index, good in enumerate(GOOD + DUPLICATES):
        mixed.append(good)
        mixed.extend(bad[index * 3:index * 3 + 3])
    mixed.extend(bad[len(GOOD + DUPLICATES) * 3:])
    assert len(mixed) == len(GOOD) + len(DUPLICATES) + len(BAD)
    return mixed


def query(dsn: str, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchall()


def test_mixed_file_every_line_accounted_for(warehouse_dsn: str, tmp_path: Path) -> None:
    path = write(tmp_path / "landing" / "day1" / "mixed.ndjson.gz", mixed_lines())
    summary = load_landing(warehouse_dsn, tmp_path / "landing", PROJECTS, now=NOW,
                           max_line_bytes=MAX_LINE)

    [result] = summary.files
    assert (result.status, result.source_path, result.lines, result.loaded, result.duplicates,
            result.quarantined) == ("loaded", "day1/mixed.ndjson.gz", 27, 5, 2, 20)
    assert result.loaded + result.duplicates + result.quarantined == result.lines
    assert (summary.files_seen, summary.files_loaded, summary.files_skipped) == (1, 1, 0)

    manifest = query(warehouse_dsn, "select source_path, status, version, lines_total,"
                     " lines_loaded, lines_duplicate, lines_quarantined, size_bytes"
                     " from raw.load_manifest")
    assert manifest == [("day1/mixed.ndjson.gz", "loaded", 1, 27, 5, 2, 20, path.stat().st_size)]

    by_shape = query(warehouse_dsn, "select source_shape, count(*) from raw.events group by 1"
                     " order by 1")
    assert by_shape == [("mobile", 1), ("segment", 2), ("server", 1), ("tracker", 1)]
    # The first copy of m-1 is kept, not the later duplicate.
    assert query(warehouse_dsn, "select event_name from raw.events where message_id = 'm-1'") == [
        ("purchase",)]

    reasons = query(warehouse_dsn, "select reason, count(*) from raw.quarantine group by 1")
    expected: dict[str, int] = {}
    for reason in BAD.values():
        expected[reason] = expected.get(reason, 0) + 1
    assert dict(reasons) == expected
    assert result.reasons == expected

    # Quarantine rows point at their line and keep the raw text, made storable.
    lines = mixed_lines()
    rows = query(warehouse_dsn, "select line_number, raw_text, reason, project_id,"
                 " source_path from raw.quarantine order by line_number")
    for number, raw_text, reason, _, source in rows:
        original = lines[number - 1]
        assert BAD[original] == reason
        assert source == "day1/mixed.ndjson.gz"
        if reason == "invalid_utf8":
            assert raw_text == '{"event": "\\xff\\xfe"}'
        elif reason == "nul_character" and b"\x00" in original:
            assert raw_text == '{"event": "raw \\x00 byte"}'
        else:
            assert raw_text == original.decode()
    unknown_project = [r for r in rows if r[2] == "unknown_project"]
    assert unknown_project[0][3] is None
    assert {r[3] for r in rows if r[2] == "time_too_old"} == {"api"}


def test_loading_twice_adds_nothing(warehouse_dsn: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing / "a.ndjson", mixed_lines())
    write(landing / "b.ndjson.gz", [line(tracker(name="other"))])
    first = load_landing(warehouse_dsn, landing, PROJECTS, now=NOW, max_line_bytes=MAX_LINE)
    counts = query(warehouse_dsn, "select (select count(*) from raw.events),"
                   " (select count(*) from raw.quarantine),"
                   " (select count(*) from raw.load_manifest)")
    again = load_landing(warehouse_dsn, landing, PROJECTS, now=NOW, max_line_bytes=MAX_LINE)
    assert (first.files_loaded, first.loaded) == (2, 6)
    assert (again.files_seen, again.files_loaded, again.files_skipped, again.loaded) == (2, 0, 2, 0)
    assert [f.status for f in again.files] == ["skipped", "skipped"]
    assert counts == query(warehouse_dsn, "select (select count(*) from raw.events),"
                           " (select count(*) from raw.quarantine),"
                           " (select count(*) from raw.load_manifest)") == [(6, 20, 2)]
    # A copy of a loaded file under another name is the same content: skipped as well.
    write(landing / "copy" / "a.ndjson", mixed_lines())
    assert load_file(warehouse_dsn, landing / "copy" / "a.ndjson", PROJECTS, now=NOW,
                     max_line_bytes=MAX_LINE).status == "skipped"


def test_repeated_message_ids_across_files_add_only_new_events(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    write(landing / "1.ndjson", [line(segment(message_id=f"m-{i}")) for i in range(10)])
    write(landing / "2.ndjson", [line(segment(message_id=f"m-{i}", event="late copy"))
                                 for i in range(5, 15)] + [line(mobile())])
    summary = load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    second = summary.files[1]
    assert (second.lines, second.loaded, second.duplicates, second.quarantined) == (11, 6, 5, 0)
    assert query(warehouse_dsn, "select count(*), count(*) filter (where event_name = 'late copy')"
                 " from raw.events") == [(16, 5)]


def test_changed_file_is_loaded_as_a_new_version(warehouse_dsn: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing / "events.ndjson", [line(segment(message_id="m-1"))])
    load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    write(landing / "events.ndjson", [line(segment(message_id="m-1")),
                                      line(segment(message_id="m-2"))])
    assert pending_files(warehouse_dsn, landing) == [landing / "events.ndjson"]
    summary = load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    [result] = summary.files
    assert (result.status, result.version, result.loaded, result.duplicates) == (
        "new_version", 2, 1, 1)
    assert query(warehouse_dsn, "select version, status, lines_total from raw.load_manifest"
                 " order by version") == [(1, "loaded", 1), (2, "loaded", 2)]
    assert pending_files(warehouse_dsn, landing) == []


def deep_segment(message_id: str, depth: int) -> bytes:
    """A Segment line whose properties nest `depth` objects deep, ending in a leaf."""
    nested = b'{"down":' * depth + b'{"leaf": "bottom"}' + b"}" * depth
    return line(segment(message_id=message_id, properties={})).replace(
        b'"properties":{}', b'"properties":' + nested)


HOSTILE_STRINGS = [
    "tab\there", "back\\slash", 'quote"s and \'single\'', "new\nline and \r return",
    "\\N", "\\.", "emoji 😀 and 𝄞", "\\u0000 spelled out", "comma,semi;pipe|", "ünïcödé",
]


def test_hostile_content_round_trips(warehouse_dsn: str, tmp_path: Path) -> None:
    lines = [
        line(segment(message_id=f"h-{index}", event=text, user_id=text, anonymous_id=text,
                     properties={"value": text, text: "as a key"}))
        for index, text in enumerate(HOSTILE_STRINGS)
    ]
    lines += [
        deep_segment("deep", 200),
        line(segment(message_id="huge", properties={f"k{i}": "v" * 100 for i in range(5000)})),
        line(tracker(viewport_w="1280", viewport_h=720.0, scroll_pct="55.5", x="3")),
        line(mobile(timestamp_ms="1741600800000", session_id=12345)),
        line(segment(message_id="1e-20000 number", properties={"n": 1e-300})),
        b'{"message_id": "tiny", "type": "track", "event": "e", "write_key": "wk_shop",'
        b' "anonymous_id": "a", "timestamp": "2025-03-10T10:00:00Z", "properties":'
        b' {"underflow": 1e-20000, "amount": "1e999999"}}',
        b'{"message_id":\t"tabs-around-tokens", "type":\t"track", "event": "e", "write_key":'
        b' "wk_shop", "anonymous_id": "a", "timestamp": "2025-03-10T10:00:00Z"}\r',
    ]
    rejected = [
        deep_segment("deeper", 300),
        deep_segment("deepest", 5000),
        b'{"message_id": "raw\ttab\tin a string", "type": "track"}',  # JSON forbids it
    ]
    path = write(tmp_path / "hostile.ndjson", lines + rejected)
    result = load_file(warehouse_dsn, path, PROJECTS, now=NOW)
    assert (result.lines, result.loaded, result.quarantined) == (len(lines) + 3, len(lines), 3)
    assert result.reasons == {"too_deep": 2, "invalid_json": 1}
    assert query(warehouse_dsn, "select raw_text from raw.quarantine where reason = 'invalid_json'"
                 ) == [(rejected[2].decode(),)]

    stored = dict(query(warehouse_dsn, "select message_id, jsonb_build_array(event_name, user_id,"
                        " anonymous_id, properties) from raw.events where message_id like 'h-%'"))
    for index, text in enumerate(HOSTILE_STRINGS):
        assert stored[f"h-{index}"] == [text, text, text, {"value": text, text: "as a key"}]
    depth = query(warehouse_dsn, "select jsonb_path_query_first(properties, 'strict $.**.leaf')"
                  " from raw.events where message_id = 'deep'")
    assert depth == [("bottom",)]
    huge = query(warehouse_dsn, "select (select count(*) from jsonb_object_keys(properties))"
                 " from raw.events where message_id = 'huge'")
    assert huge == [(5000,)]
    typed = query(warehouse_dsn, "select screen_width, screen_height, scroll_pct from raw.events"
                  " where source_shape = 'tracker'")
    assert [tuple(map(str, row)) for row in typed] == [("1280", "720", "55.5")]
    assert query(warehouse_dsn, "select anonymous_id from raw.events where source_shape ="
                 " 'mobile'") == [("12345",)]
    # Numbers PostgreSQL's numeric cannot hold become what the JSON parser made of them,
    # and a numeric string out of range is no revenue rather than a failed load.
    assert query(warehouse_dsn, "select revenue, properties->>'underflow' from raw.events"
                 " where message_id = 'tiny'") == [(None, "0.0")]


def test_retention_deletes_per_project(warehouse_dsn: str, tmp_path: Path) -> None:
    path = write(tmp_path / "e.ndjson", [
        line(server(created_at="2025-02-20T00:00:00Z")),  # api: 30 days
        line(server(created_at="2025-03-14T00:00:00Z")),
        line(segment(message_id="old", timestamp="2024-06-01T00:00:00Z")),  # shop: 365 days
    ])
    assert load_file(warehouse_dsn, path, PROJECTS, now=NOW).loaded == 3
    later = NOW + timedelta(days=10)  # api keeps 30 days: from 02-23 on
    deleted = delete_expired_events(warehouse_dsn, PROJECTS, now=later)
    assert deleted == {"shop": 0, "app": 0, "api": 1}
    assert query(warehouse_dsn, "select project_id, count(*) from raw.events group by 1"
                 " order by 1") == [("api", 1), ("shop", 1)]
    assert delete_expired_events(warehouse_dsn, PROJECTS, now=later) == {
        "shop": 0, "app": 0, "api": 0}


def test_landing_files_and_errors(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    for name in ("b/2.ndjson.gz", "a.ndjson", ".partial/x.ndjson", "c/.tmp.ndjson", "notes.txt",
                 "d.json"):
        write(landing / name, [b"{}"])
    assert [p.relative_to(landing).as_posix() for p in find_event_files(landing)] == [
        "a.ndjson", "b/2.ndjson.gz"]
    with pytest.raises(BeaconError, match="landing directory .* not found"):
        find_event_files(tmp_path / "missing")


def test_missing_landing_dir_is_a_one_line_error(warehouse_dsn: str, tmp_path: Path) -> None:
    with pytest.raises(BeaconError, match="not found"):
        load_landing(warehouse_dsn, tmp_path / "nope", PROJECTS, now=NOW)


def test_corrupt_gzip_fails_that_file_only(warehouse_dsn: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    good = write(landing / "a.ndjson.gz", [line(segment())])
    (landing / "b.ndjson.gz").write_bytes(good.read_bytes()[:-12])  # truncated upload
    with pytest.raises(BeaconError, match="1 of 2 event file") as caught:
        load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    summary = caught.value.summary  # type: ignore[attr-defined]
    assert [f.status for f in summary.files] == ["loaded", "failed"]
    assert query(warehouse_dsn, "select source_path, status from raw.load_manifest order by 1") == [
        ("a.ndjson.gz", "loaded"), ("b.ndjson.gz", "failed")]
    assert query(warehouse_dsn, "select count(*) from raw.events") == [(1,)]


def test_event_key_is_the_columns_md5_computed_by_the_loader(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    ids = [f"h-{index}-{text}" for index, text in enumerate(HOSTILE_STRINGS)]
    path = write(tmp_path / "keys.ndjson", [line(segment(message_id=m)) for m in ids])
    assert load_file(warehouse_dsn, path, PROJECTS, now=NOW).loaded == len(ids)
    stored = dict(query(warehouse_dsn, "select message_id, replace(event_key::text, '-', '')"
                        " from raw.events"))
    assert stored == {m: event_key("shop", m).hex() for m in ids}


def test_a_key_committed_by_another_loader_during_the_copy_is_a_duplicate(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    """The key check cannot see another loader's uncommitted rows: the COPY waits for them,
    fails on the primary key once they commit, and the chunk is checked and copied again."""
    path = write(tmp_path / "a.ndjson", [line(segment(message_id=f"m-{i}")) for i in range(3)])
    with psycopg.connect(warehouse_dsn) as other:
        ensure_raw_schema(other)
        other.execute(
            "insert into raw.events (project_id, message_id, source_shape, event_name,"
            " is_page_view, is_identify, is_scroll, is_click, anonymous_id, event_at,"
            " event_key, load_id, line_number) values ('shop', 'm-1', 'segment',"
            " 'by the other loader', false, false, false, false, 'a', now(), %s, 0, 1)",
            (UUID(bytes=event_key("shop", "m-1")),))
        results: list = []
        loading = threading.Thread(target=lambda: results.append(
            load_file(warehouse_dsn, path, PROJECTS, now=NOW)))
        loading.start()
        deadline = time.monotonic() + 20
        while not query(warehouse_dsn, "select 1 from pg_stat_activity where datname ="
                        " current_database() and wait_event_type = 'Lock'"):
            assert time.monotonic() < deadline, "the loader never waited for the other's rows"
            time.sleep(0.05)
        other.commit()
    loading.join(timeout=20)
    [result] = results
    assert (result.loaded, result.duplicates) == (2, 1)
    assert query(warehouse_dsn, "select message_id, event_name from raw.events order by 1") == [
        ("m-0", "purchase"), ("m-1", "by the other loader"), ("m-2", "purchase")]


def test_values_postgresql_would_refuse_never_reach_it(warehouse_dsn: str, tmp_path: Path) -> None:
    """Values Python reads but PostgreSQL refuses are stored in a form it reads, or
    quarantined: before, each of these stopped the load (on every rerun)."""
    arabic_3, fullwidth_3 = "\u0663", "\uff13"
    loaded = [
        line(segment(message_id="tz+16", timestamp="2025-03-10T10:00:00+16:00")),
        line(segment(message_id="tz-05:60", timestamp="2025-03-10T10:00:00-05:60")),
        line(segment(message_id="year-1", sent_at="0001-01-01T00:00:00Z")),
        line(segment(message_id="arabic", properties={"amount": arabic_3})),
        line(segment(message_id="fullwidth", properties={"amount": fullwidth_3 + ".5"})),
        line(segment(message_id="nan", properties={"amount": "NaN"})),
        line(segment(message_id="long-scale", properties={"amount": "0." + "1" * 16384})),
        line(segment(message_id="longest-id", anonymous_id="\u00e9" * 512)),
    ]
    quarantined = {
        line(tracker(scroll_pct=arabic_3)): "wrong_type",
        line(tracker(viewport_w="\u00b2")): "wrong_type",
        line(tracker(viewport_h=fullwidth_3)): "wrong_type",
        line(tracker(viewport_w="9" * 5000)): "wrong_type",
        line(tracker(x="+-5")): "wrong_type",
        line(mobile(timestamp_ms="\u0661\u0667\u0664\u0661\u0666" + "\u0660" * 8)): "invalid_time",
        line(segment(message_id="long-id", anonymous_id="a" * 3000)): "id_too_long",
        line(segment(message_id="long-user", anonymous_id=None, user_id="u" * 600)): "id_too_long",
        line(segment(message_id="m" * 513)): "id_too_long",
        line(segment(message_id="lone")).replace(b'"lone"', b'"\\ud800"'): "invalid_json",
    }
    path = write(tmp_path / "refused.ndjson", loaded + list(quarantined))
    result = load_file(warehouse_dsn, path, PROJECTS, now=NOW)
    assert (result.lines, result.loaded, result.duplicates, result.quarantined) == (18, 8, 0, 10)
    assert result.reasons == {"wrong_type": 5, "invalid_time": 1, "id_too_long": 3,
                              "invalid_json": 1}
    assert query(warehouse_dsn, "select reason, raw_text from raw.quarantine order by line_number"
                 ) == [(reason, raw.decode()) for raw, reason in quarantined.items()]
    stored = query(warehouse_dsn, "select message_id, (event_at at time zone 'UTC')::text,"
                   " (client_event_at at time zone 'UTC')::text,"
                   " (sent_at at time zone 'UTC')::text, revenue::text, length(anonymous_id)"
                   " from raw.events order by line_number")
    assert stored == [
        ("tz+16", "2025-03-09 18:00:00", "2025-03-09 18:00:00", None, "19.5", 6),
        ("tz-05:60", "2025-03-10 16:00:00", "2025-03-10 16:00:00", None, "19.5", 6),
        ("year-1", "2025-03-10 10:00:00", "2025-03-10 10:00:00", "0001-01-01 00:00:00", "19.5",
         6),
        ("arabic", "2025-03-10 10:00:00", "2025-03-10 10:00:00", None, None, 6),
        ("fullwidth", "2025-03-10 10:00:00", "2025-03-10 10:00:00", None, None, 6),
        ("nan", "2025-03-10 10:00:00", "2025-03-10 10:00:00", None, None, 6),
        ("long-scale", "2025-03-10 10:00:00", "2025-03-10 10:00:00", None, None, 6),
        ("longest-id", "2025-03-10 10:00:00", "2025-03-10 10:00:00", None, "19.5", 512),
    ]


REFUSING_TRIGGER = """
create function raw.refuse_marked() returns trigger language plpgsql as $$
begin
    if new.event_name = 'refuse me' then
        raise exception 'value refused by the test' using errcode = 'invalid_datetime_format';
    end if;
    return new;
end $$;
create trigger refuse_marked before insert on raw.events
    for each row execute function raw.refuse_marked();
"""


def test_rows_postgresql_refuses_are_quarantined_and_the_rest_loaded(
    warehouse_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A value the mapping's checks miss fails its chunk's COPY: the loader finds the rows
    PostgreSQL refuses, quarantines them with its message, and loads the others."""
    # A gap in the checks: the database refuses a value the mapping lets through.
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        conn.execute(REFUSING_TRIGGER)
    monkeypatch.setattr(reader, "CHUNK_BYTES", 4096)  # several chunks, a few lines each
    refused = {1, 2, 30, 59, 60}  # first and last lines, neighbours, alone in a chunk
    lines = [line(segment(message_id=f"m-{number}",
                          event="refuse me" if number in refused else "purchase"))
             for number in range(1, 61)]
    lines[39] = b'{"event": '  # quarantined by the mapping
    lines[44] = line(segment(message_id="m-10"))  # a duplicate
    lines[49] = line(segment(message_id="m-30"))  # a later copy of a refused line is loaded
    path = write(tmp_path / "refused.ndjson", lines)

    result = load_file(warehouse_dsn, path, PROJECTS, now=NOW)
    assert (result.lines, result.loaded, result.duplicates, result.quarantined) == (60, 53, 1, 6)
    assert result.reasons == {"rejected_by_database": 5, "invalid_json": 1}
    assert query(warehouse_dsn, "select status, lines_total, lines_loaded, lines_duplicate,"
                 " lines_quarantined from raw.load_manifest") == [("loaded", 60, 53, 1, 6)]
    message = "value refused by the test"
    assert query(warehouse_dsn, "select line_number, reason, message, project_id, raw_text"
                 " from raw.quarantine where reason = 'rejected_by_database'"
                 " order by line_number") == [
        (number, "rejected_by_database", message, "shop", lines[number - 1].decode())
        for number in sorted(refused)]
    assert query(warehouse_dsn, "select count(*), count(*) filter (where message_id = 'm-30'),"
                 " max(line_number) filter (where message_id = 'm-30') from raw.events"
                 ) == [(53, 1, 50)]


def test_a_latin1_warehouse_quarantines_what_it_cannot_store(
    latin1_dsn: str, tmp_path: Path
) -> None:
    """On a LATIN1 database a title in kanji is refused by PostgreSQL: quarantined with its
    line kept as ASCII escapes, as is every quarantined line there (a line of bad JSON in kanji
    too); "café" fits LATIN1 and loads."""
    kanji = segment(message_id="m-2", context={"page": {"title": "漢字", "path": "/"}})
    bad_json = '{"event": "漢字"'.encode()
    path = write(tmp_path / "latin1.ndjson",
                 [line(segment(message_id="m-1", event="café")), line(kanji), bad_json])
    result = load_file(latin1_dsn, path, PROJECTS, now=NOW)
    assert (result.loaded, result.quarantined) == (1, 2)
    assert query(latin1_dsn, "select message_id, event_name from raw.events") == [("m-1", "café")]
    quarantined = "select reason, raw_text from raw.quarantine order by line_number"
    assert query(latin1_dsn, quarantined) == [
        ("rejected_by_database", line(kanji).decode().encode("ascii", "backslashreplace").decode()),
        ("invalid_json", '{"event": "\\u6f22\\u5b57"'),
    ]


def test_a_utf8_warehouse_keeps_quarantined_lines_as_they_are(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    bad_json = '{"event": "漢字 café"'
    path = write(tmp_path / "utf8.ndjson", [bad_json.encode()])
    load_file(warehouse_dsn, path, PROJECTS, now=NOW)
    assert query(warehouse_dsn, "select raw_text from raw.quarantine") == [(bad_json,)]

NUMBERS = ["0", "-0", "7", "+7", "19.50", "-0.001", ".5", "5.", "1e3", "1.5E-3", "2.5e+2",
           "12345678901234567890.000001", "0.00000000000000000001", "1e-30", "100000000",
           "9999.9999", "10000", "-123456.7890", 1e16, 1.5e-7, 10**18, -3, 0.1]


def test_numbers_are_stored_as_postgresql_reads_their_text(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    """Revenue and scroll depth go to numeric columns in binary (native/rows.c): each must be
    the number, with the scale, that PostgreSQL's own input gives the same text."""
    lines = [line(segment(message_id=f"n-{index}", properties={"amount": number}))
             for index, number in enumerate(NUMBERS)]
    load_file(warehouse_dsn, write(tmp_path / "numbers.ndjson", lines), PROJECTS, now=NOW)
    stored = query(warehouse_dsn, "select revenue::text from raw.events order by line_number")
    texts = [number if isinstance(number, str) else repr(number) for number in NUMBERS]
    expected = query(warehouse_dsn, "select t::numeric::text from unnest(%s::text[])"
                     " with ordinality as u(t, n) order by n", texts)
    assert stored == expected
