"""The native fast path (native/fastmap.c) maps every line it takes exactly as shapes.py does.

For each line: when the fast path returns a row, the reference mapping must give the very same
bytes; when the reference rejects the line, the fast path must have declined it. Lines are the
sample generator's (every shape, with its malformed lines) and hand-made edge cases.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ingestion.events import _fastmap
from ingestion.events.chunk import ChunkContext, ChunkMapper
from ingestion.events.reader import LineChunk, read_chunks
from ingestion.events.validation import Rejected
from ingestion.projects import load_projects
from ingestion.sample_data import generate
from tests.ingestion.events.samples import NOW, PROJECTS, line, mobile, segment, server, tracker


def fast_row(mapper: ChunkMapper, raw: bytes, number: int) -> tuple[bytes, bytes] | None:
    """The fast path's row and key of one line, or None when it declines the line."""
    declined: list[bytes] = []
    lines, rows, keys, _, _ = _fastmap.map_chunk(raw + b"\n", number, mapper.native_context,
                                                 lambda line, _: declined.append(line))
    assert lines == 1
    return None if declined else (rows, keys)


def compare(mapper: ChunkMapper, lines: list[bytes], first_line: int = 1) -> tuple[int, int]:
    """Assert the fast path agrees with the reference on every line; (fast, reference-only)
    counts of the lines that were loaded."""
    fast_count = reference_only = 0
    for number, raw in enumerate(lines, first_line):
        fast = fast_row(mapper, raw, number)
        try:
            reference = mapper.event_row(mapper.map_line(raw, number == 1), number)
        except Rejected as rejected:
            assert fast is None, f"line {number} ({rejected.reason}) was mapped: {raw[:200]!r}"
            continue
        if fast is None:
            reference_only += 1
        else:
            assert fast == reference, f"line {number} differs: {raw[:300]!r}"
            fast_count += 1
    return fast_count, reference_only


@pytest.fixture
def mapper() -> ChunkMapper:
    return ChunkMapper(ChunkContext(3, "edge.ndjson", tuple(PROJECTS), NOW, 100_000))


def test_the_sample_data_is_mapped_alike_and_nearly_all_by_the_fast_path(tmp_path: Path) -> None:
    generate(tmp_path, events=4_000, days=3, seed=11, workers=1)
    projects = tuple(load_projects(tmp_path / "projects.yml"))
    summary_now = NOW.replace(year=2026, month=11, day=2)
    mapper = ChunkMapper(ChunkContext(1, "sample", projects, summary_now, 1_000_000))
    fast = reference_only = 0
    for path in sorted((tmp_path / "landing").rglob("*.ndjson.gz")):
        for chunk in read_chunks(path, 1_000_000):
            if chunk.oversize:
                continue
            lines = chunk.data.split(b"\n")
            counts = compare(mapper, lines[:-1] if lines[-1] == b"" else lines, chunk.first_line)
            fast, reference_only = fast + counts[0], reference_only + counts[1]
    assert fast > 3_500
    assert reference_only < fast / 20, "the fast path declines too many good lines"


EDGE_CASES: list[Callable[[], dict]] = [
    # ids and texts of other types
    lambda: segment(user_id=12345), lambda: segment(anonymous_id=7.5),
    lambda: segment(message_id=""), lambda: segment(anonymous_id="", user_id="u"),
    lambda: segment(event=None, type="alias"), lambda: segment(type=None),
    lambda: segment(type="screen"), lambda: segment(type="identify", traits=None),
    lambda: segment(write_key=None, project_key="pub_shop"), lambda: segment(write_key=7),
    lambda: segment(context=None), lambda: segment(context={"traits": {"a": 1}}),
    lambda: segment(context={"page": "x"}), lambda: segment(properties=[]),
    lambda: segment(properties={}), lambda: segment(properties={"amount": True}),
    lambda: segment(properties={"amount": "1e3"}), lambda: segment(properties={"amount": "-.5"}),
    lambda: segment(properties={"amount": 10**18}), lambda: segment(properties={"amount": 1e300}),
    lambda: segment(properties={"amount": " 7 "}), lambda: segment(properties={"amount": "١"}),
    lambda: segment(properties={"scroll_pct": "55.50", "label": 3}),
    lambda: segment(event="click", properties={"label": ""}),
    lambda: segment(event="click", properties={"label": "Go", "url": "/x?utm_source=p"}),
    lambda: segment(unknown={"nested": [1, 2]}, extra_field="kept"),
    # times
    lambda: segment(timestamp="2025-03-10T10:00:00"), lambda: segment(timestamp="2025-03-10"),
    lambda: segment(timestamp="2025-03-10T10:00:00.1Z"),
    lambda: segment(timestamp="2025-03-10T10:00:00.1234567Z"),
    lambda: segment(timestamp="2025-03-10T10:00:00z"),
    lambda: segment(timestamp="2025-03-10T10:00:00+0530"),
    lambda: segment(timestamp="2025-03-10T10:00:00,5Z"),
    lambda: segment(timestamp=" 2025-03-10T10:00:00Z"),
    lambda: segment(timestamp="2025-02-29T10:00:00Z"),
    lambda: segment(timestamp="2024-02-29T10:00:00Z"),
    lambda: segment(timestamp="0001-01-01T00:00:00+01:00"), lambda: segment(timestamp=""),
    lambda: segment(timestamp=1741600800), lambda: segment(sent_at="", received_at=None),
    lambda: segment(sent_at="2025-03-10T10:00:05Z", received_at="2025-03-10T10:00:07Z"),
    lambda: segment(sent_at="0001-01-01T00:00:00Z", received_at="9999-12-31T00:00:00Z"),
    lambda: mobile(timestamp_ms=1741600800000.5), lambda: mobile(timestamp_ms="1741600800000"),
    lambda: mobile(timestamp_ms=True), lambda: mobile(timestamp_ms=2**62),
    lambda: mobile(timestamp_ms=-62135596800000), lambda: mobile(timestamp_ms=None),
    # IP addresses
    lambda: mobile(ip="203.0.113.7"), lambda: mobile(ip="010.001.002.003"),
    lambda: mobile(ip="256.1.1.1"), lambda: mobile(ip=" 203.0.113.7"),
    lambda: mobile(ip="1.2.3"), lambda: mobile(ip="::ffff:203.0.113.7"),
    lambda: mobile(ip="2002:cb00:7107:12::1"), lambda: mobile(ip="fe80::1%eth0"),
    lambda: mobile(ip="2001:db8::1"), lambda: mobile(ip=17), lambda: mobile(ip=""),
    lambda: mobile(ip="10.0.0.1, 203.0.113.7"),
    # URLs, paths and UTM parameters
    lambda: tracker(path=None, url="https://shop.test"), lambda: tracker(path=None, url="/a/b?c"),
    lambda: tracker(path=None, url="shop.test/a"), lambda: tracker(path=None, url="a:b/c"),
    lambda: tracker(path=None, url="1http://x/y"), lambda: tracker(path=None, url="http://[::1]/p"),
    lambda: tracker(path=None, url="http://[::1/p"), lambda: tracker(path=None, url="https://é.test/ü"),
    lambda: tracker(path=None, url="https://x.test/p#f?utm_source=no"),
    lambda: tracker(path=None, url=" https://x.test/lead"),
    lambda: tracker(url="https://x.test/?utm_source=a%20b&utm_source=c&utm_medium=&fbclid=F"),
    lambda: tracker(url="https://x.test/?utm_campaign=spring+sale&utm_term=%00"),
    lambda: tracker(url="https://x.test/?utm_content=caf%C3%A9&utm_id=é"),
    lambda: tracker(url="https://x.test/?utm_source&utm_ad_id=1=2"),
    *[lambda query=query: tracker(url=f"https://x.test/?{query}") for query in (
        "utm_source=%zz%4&utm_medium=100%25", "utm_campaign=%FF", "utm_term=%C3é",
        "utm_source=a%2Bb+c", "x=%20&utm_source=plain", "utm_source=first&utm_source=sec%20ond",
        "utm_content=%E2%82%AC+%e2%82%ac", "utm_id=%", "utm_id=%4", "utm_placement=a%00b+c",
    )],
    # tracker specifics
    lambda: tracker(name=None), lambda: tracker(name=None, selector=None, meta={"label": "L"}),
    lambda: tracker(event_type="scroll", scroll_pct="33.3"), lambda: tracker(scroll_pct=True),
    lambda: tracker(scroll_pct=""), lambda: tracker(viewport_w="1280"), lambda: tracker(x=1.0),
    lambda: tracker(y="up"), lambda: tracker(viewport_h=2**31),
    lambda: tracker(meta='{"amount": 5}'), lambda: tracker(meta="  "), lambda: tracker(meta="[1]"),
    lambda: tracker(meta=None), lambda: tracker(visitor_key="é" * 512),
    lambda: tracker(visitor_key="x" * 513),
    # server specifics
    lambda: server(properties='{"url": "https://api.test/d?utm_medium=a+b"}'),
    lambda: server(properties="not json"), lambda: server(properties={"x": 1}),
    lambda: server(user_id=None, session_id=None), lambda: server(user_id=42),
    lambda: server(created_at="2025-03-10 09:30:00.123+02:00"),
    # the project and the event time's range
    lambda: segment(write_key="wk_unknown"),
    lambda: mobile(timestamp_ms=1742040000001 + 86_400_000),
    lambda: server(created_at="2025-01-01 00:00:00"),
]


@pytest.mark.parametrize("make", EDGE_CASES)
def test_edge_cases_are_mapped_alike(mapper: ChunkMapper, make: Callable[[], dict]) -> None:
    compare(mapper, [line(make())], first_line=2)


@pytest.mark.parametrize("raw", [
    b"\xef\xbb\xbf" + line(mobile()), line(mobile()) + b"\r", b"  " + line(mobile()) + b" ",
    line(segment()).replace(b'"m-1"', b'"m\\u00e9"'), line(segment()).replace(b"Cart", b"\\u0000"),
    line(segment()).replace(b"Cart", b"\\\\u0000"),
    line(segment()).replace(b"Cart", b"\\\\\\u0000"),
    line(segment()).replace(b"Cart", b"a\\\"b\\\\"),
    b'{"api_key": "ak_app", "api_key": "pub_shop"}', b"[1, 2]", b"", b"{", b"\xff",
    line(segment(properties={"deep": [[[[[[]]]]]]})),
    b"{" + b'"a":[' * 300 + b"]" * 300 + b', "api_key": "ak_app"}',
])
def test_raw_lines_are_mapped_alike(mapper: ChunkMapper, raw: bytes) -> None:
    compare(mapper, [raw])


def test_only_a_real_nul_escape_sends_a_line_to_the_reference(mapper: ChunkMapper) -> None:
    r"""`\\u0000` in a line is a backslash and text, mapped here; `\\\u0000` ends in a NUL."""
    text, nul = (line(segment()).replace(b"Cart", b"\\\\u0000"),
                 line(segment()).replace(b"Cart", b"\\\\\\u0000"))
    assert compare(mapper, [text]) == (1, 0)
    assert compare(mapper, [nul]) == (0, 0)  # the reference quarantines it


def test_digests_at_every_length_across_block_boundaries(mapper: ChunkMapper) -> None:
    """Event keys (MD5) and content ids (SHA-256) of inputs of 6 to 200 bytes, across the
    digests' 64-byte blocks, as the Python mapping computes them."""
    lines = [line(segment(message_id="m" * length)) for length in range(1, 196)]
    lines += [line(mobile(properties={"p": "x" * length})) for length in range(0, 140)]
    assert compare(mapper, lines) == (len(lines), 0)


def test_a_chunk_keeps_the_first_copy_of_each_key_in_key_order(mapper: ChunkMapper) -> None:
    lines = [line(segment(message_id=m, event=e)) for m, e in
             [("b", "first"), ("a", "x"), ("b", "second"), ("c", "y")]]
    lines.insert(2, b"{")  # quarantined by the reference
    result = mapper.map_chunk(LineChunk(1, b"\n".join(lines)))
    assert (result.lines, len(result), result.duplicates, result.quarantined) == (5, 3, 1, 1)
    expected = sorted(mapper.event_row(mapper.map_line(lines[i], False), i + 1)[::-1]
                       for i in (0, 1, 4))
    assert list(zip(result.key_list(), result.row_list(), strict=True)) == expected


@pytest.mark.parametrize("first_line", [1, 1000])
@pytest.mark.parametrize("data", [b"", b"\n", b"\n\n", b"{\n\nx", b"{\n\nx\n", b"x\r\n\n"])
def test_a_chunk_is_cut_into_lines_as_split_cuts_them(
    mapper: ChunkMapper, data: bytes, first_line: int
) -> None:
    """Every line reaches the mapping with its number, empty ones included; a final newline
    ends the last line rather than starting one."""
    chunk = line(segment()) + b"\n" + data  # a first line the fast path maps itself
    expected = chunk.split(b"\n")
    if expected[-1] == b"":
        expected.pop()
    declined: list[tuple[int, bytes]] = []
    lines, rows, *_ = _fastmap.map_chunk(chunk, first_line, mapper.native_context,
                                         lambda raw, number: declined.append((number, raw)))
    assert (lines, declined) == (len(expected), list(enumerate(expected, first_line))[1:])
    assert rows == mapper.event_row(mapper.map_line(expected[0], first_line == 1), first_line)[0]
    assert _fastmap.count_lines(data) == data.count(b"\n")


def test_an_empty_chunk_has_no_lines(mapper: ChunkMapper) -> None:
    assert _fastmap.map_chunk(b"", 1, mapper.native_context, print) == (0, b"", b"", b"", 0)


def test_escaped_utm_values_in_ascii_are_unquoted_by_the_fast_path(mapper: ChunkMapper) -> None:
    """Parity with web.utm_of; only values with other than ASCII, or that unquote to other than
    UTF-8, decline the line (to shapes.py)."""
    queries = ["utm_source=a%20b+c&utm_medium=%E2%82%AC", "utm_campaign=100%25%zz",
               "utm_term=a%00b", "ref=%20&utm_content=x+y"]
    lines = [line(tracker(url=f"https://x.test/?{query}")) for query in queries]
    assert compare(mapper, lines) == (len(lines), 0)
    declined = [line(tracker(url="https://x.test/?utm_source=%FF")),
                line(tracker(url="https://x.test/?utm_source=é%20"))]
    assert compare(mapper, declined) == (0, len(declined))


def test_chunks_rows_merge_into_one_run_in_key_order_without_the_held_back_ones() -> None:
    def part(rows: list[bytes], keys: list[int], skip: list[int]) -> tuple:
        ends = [sum(map(len, rows[:i + 1])) for i in range(len(rows))]
        return (b"".join(rows), b"".join(k.to_bytes(16, "big") for k in keys),
                b"".join(e.to_bytes(8, sys.byteorder) for e in ends), skip)

    parts = [part([b"k2", b"k5-", b"k7"], [2, 5, 7], []),
             part([b"k1", b"k3 held", b"k6"], [1, 3, 6], [1]),
             part([], [], [])]
    assert _fastmap.rows_by_key(parts) == b"k1k2k5-k6k7"
    with pytest.raises(ValueError, match="ends"):
        _fastmap.rows_by_key([(b"ab", bytes(16), (9).to_bytes(8, sys.byteorder), [])])


def test_columns_match_copy_format() -> None:
    with pytest.raises(RuntimeError, match="differ"):
        _fastmap.check_columns(["project_id"])
