"""Batches of files and the key filter (batch.py, key_filter.py): the filter only spares key
lookups, so whatever it holds, every file's counts and the first copy of each key are right."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from ingestion.events import batch
from ingestion.events.chunk import event_key
from ingestion.events.key_filter import KeyFilter
from ingestion.events.loader import load_landing
from ingestion.warehouse import ensure_raw_schema
from tests.ingestion.events.samples import NOW, PROJECTS, line, segment, write


def query(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def small_files(landing: Path) -> None:
    """Five files sharing message ids: m-0..m-9, then m-6..m-14 in threes, each three
    repeating ids of the files before."""
    write(landing / "0.ndjson", [line(segment(message_id=f"m-{i}")) for i in range(10)])
    for part in range(1, 5):
        ids = [5 + part * 2, 6 + part * 2, 4 + part * 2]
        write(landing / f"{part}.ndjson",
              [line(segment(message_id=f"m-{i}", event=f"copy {part}")) for i in ids])


EXPECTED = [  # (lines, loaded, duplicates) per file
    (10, 10, 0), (3, 0, 3), (3, 1, 2), (3, 2, 1), (3, 2, 1),
]


def loaded(dsn: str, landing: Path) -> list[tuple[int, int, int]]:
    summary = load_landing(dsn, landing, PROJECTS, now=NOW)
    return [(f.lines, f.loaded, f.duplicates) for f in summary.files]


def test_files_of_one_batch_keep_the_first_copy(warehouse_dsn: str, tmp_path: Path) -> None:
    small_files(tmp_path / "landing")
    assert loaded(warehouse_dsn, tmp_path / "landing") == EXPECTED
    assert query(warehouse_dsn, "select event_name, count(*) from raw.events group by 1 order by 1"
                 ) == [("copy 2", 1), ("copy 3", 2), ("copy 4", 2), ("purchase", 10)]
    assert query(warehouse_dsn, "select count(distinct load_id) from raw.events") == [(4,)]


def test_rows_reach_raw_events_in_growing_runs_in_key_order(
    warehouse_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five files of ten new events; runs of at least 6 rows, then 12, then at most 24: file 0
    goes alone, files 1 and 2 as one run in key order, files 3 and 4 as the last."""
    monkeypatch.setattr(batch, "FIRST_RUN_ROWS", 6)
    monkeypatch.setattr(batch, "SORTED_RUN_ROWS", 24)
    for part in range(5):
        write(tmp_path / "landing" / f"{part}.ndjson",
              [line(segment(message_id=f"m-{part}-{i}")) for i in range(10)])
    assert loaded(warehouse_dsn, tmp_path / "landing") == [(10, 10, 0)] * 5
    stored = query(warehouse_dsn, "select event_key::text, load_id from raw.events order by ctid")
    keys = [key for key, _ in stored]
    runs = [keys[:10], keys[10:30], keys[30:]]
    assert all(run == sorted(run) for run in runs) and keys[:30] != sorted(keys[:30])
    assert len({load_id for _, load_id in stored[10:20]}) == 2  # a run mixes two files


def test_a_filter_that_holds_every_key_holds_back_every_row(
    warehouse_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """All rows held back and looked up when the COPY ends, in batches of two."""
    monkeypatch.setattr(KeyFilter, "maybe", lambda self, keys: list(range(len(keys) // 16)))
    monkeypatch.setattr(batch, "HELD_ROWS", 2)
    small_files(tmp_path / "landing")
    assert loaded(warehouse_dsn, tmp_path / "landing") == EXPECTED
    assert query(warehouse_dsn, "select count(*) from raw.events") == [(15,)]


def test_a_filter_lacking_stored_keys_costs_a_retry_not_a_duplicate(
    warehouse_dsn: str, tmp_path: Path
) -> None:
    """A filter saved before a crash lacks keys: the COPY fails on the primary key and the
    batch's files are loaded one by one, with every key looked up."""
    landing = tmp_path / "landing"
    write(landing / "0.ndjson", [line(segment(message_id=f"m-{i}")) for i in range(10)])
    load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        KeyFilter.empty(1000).save(conn)
    write(landing / "1.ndjson", [line(segment(message_id=f"m-{i}", event="again"))
                                 for i in range(5, 12)])
    summary = load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    assert [(f.status, f.loaded, f.duplicates) for f in summary.files] == [
        ("skipped", 0, 0), ("loaded", 2, 5)]


def test_a_missing_filter_is_rebuilt_from_raw_events(warehouse_dsn: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    write(landing / "0.ndjson", [line(segment(message_id=f"m-{i}")) for i in range(10)])
    load_landing(warehouse_dsn, landing, PROJECTS, now=NOW)
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute("delete from raw.event_key_filter")
        rebuilt = KeyFilter.load(conn, [])
    keys = b"".join(event_key("shop", f"m-{i}") for i in range(10))
    assert rebuilt.maybe(keys) == list(range(10))
    assert rebuilt.keys == 10


def test_the_filter_is_stored_uncompressed(warehouse_dsn: str) -> None:
    """Random bits do not compress (PostgreSQL's attempts cost most of each save at 10M events);
    an empty filter's zeros would, were compression not off for the column."""
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        empty = KeyFilter.empty(1000)
        empty.save(conn)
        stored, compression = conn.execute(
            "select pg_column_size(bits), pg_column_compression(bits) from raw.event_key_filter"
        ).fetchone()
    assert (stored, compression) == (len(empty.bits), None)
