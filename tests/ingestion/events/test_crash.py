"""A loader killed mid-file leaves nothing behind, and the rerun loads exactly the file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from ingestion.events import reader
from ingestion.events.loader import load_file
from tests.ingestion.events.samples import NOW, PROJECTS, line, segment, write

LINES = 60_000

# The child loads with small chunks, printing progress as it goes.
CHILD = """
import sys
from pathlib import Path
from ingestion.events import loader, reader
from tests.ingestion.events.samples import NOW, PROJECTS
reader.CHUNK_BYTES = 64 * 1024
loader.PROGRESS_EVERY_SECONDS = 0
loader.load_file(sys.argv[1], Path(sys.argv[2]), PROJECTS, now=NOW,
                 progress=lambda message: print(message, flush=True))
print("FINISHED", flush=True)
"""


def crash_file(path: Path) -> tuple[Path, dict[str, int]]:
    """Unique events, with a duplicate every 10th line and bad JSON every 25th."""
    lines: list[bytes] = []
    for number in range(1, LINES + 1):
        if number % 25 == 0:
            lines.append(b'{"broken": ')
        elif number % 10 == 0:
            lines.append(line(segment(message_id=f"m-{number - 1}", event="again")))
        else:
            lines.append(line(segment(message_id=f"m-{number}", timestamp="2025-03-10T10:00:00Z")))
    quarantined = LINES // 25
    duplicates = LINES // 10 - LINES // 50  # multiples of 10 that are not multiples of 25
    expected = {"lines": LINES, "quarantined": quarantined, "duplicates": duplicates,
                "loaded": LINES - quarantined - duplicates}
    return write(path, lines), expected


def counts(dsn: str) -> tuple[int, int, list[tuple]]:
    with psycopg.connect(dsn) as conn:
        events = conn.execute("select count(*) from raw.events").fetchone()[0]
        quarantine = conn.execute("select count(*) from raw.quarantine").fetchone()[0]
        manifest = conn.execute(
            "select status, lines_total, lines_loaded, lines_duplicate, lines_quarantined"
            " from raw.load_manifest order by load_id").fetchall()
    return events, quarantine, manifest


def test_killed_loader_leaves_nothing_and_rerun_is_exact(
    warehouse_dsn: str, tmp_path: Path, repo_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, expected = crash_file(tmp_path / "big.ndjson.gz")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, warehouse_dsn, str(path)],
        cwd=repo_root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    try:
        progressed = 0
        assert child.stdout is not None
        for message in child.stdout:
            assert "FINISHED" not in message, "the loader finished before it could be killed"
            if "lines (" in message:
                progressed += 1
            if progressed >= 3:  # some chunks are in the open transaction
                os.kill(child.pid, signal.SIGKILL)
                break
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    events, quarantine, manifest = counts(warehouse_dsn)
    assert (events, quarantine) == (0, 0)
    assert manifest == [("running", None, None, None, None)]

    # The rerun is not blocked by the row left `running`, and loads the whole file once.
    monkeypatch.setattr(reader, "CHUNK_BYTES", 64 * 1024)
    result = load_file(warehouse_dsn, path, PROJECTS, now=NOW)
    assert {"lines": result.lines, "loaded": result.loaded, "duplicates": result.duplicates,
            "quarantined": result.quarantined} == expected
    events, quarantine, manifest = counts(warehouse_dsn)
    assert (events, quarantine) == (expected["loaded"], expected["quarantined"])
    assert manifest == [
        ("failed", None, None, None, None),
        ("loaded", LINES, expected["loaded"], expected["duplicates"], expected["quarantined"]),
    ]
    with psycopg.connect(warehouse_dsn) as conn:
        assert conn.execute("select count(*) from raw.events where event_name = 'again'"
                            ).fetchone()[0] == 0  # the first copy of each message id won
