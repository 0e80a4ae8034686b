"""`python -m ingestion.events [LANDING_DIR]`: load a landing directory, print one line.

What `beacon bench` times. The warehouse, the projects registry and "now" come from the
environment (WAREHOUSE_DSN, BEACON_PROJECTS_FILE, BEACON_NOW); the landing directory
defaults to BEACON_LANDING_DIR. Exit status 1 with a one-line error on failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ingestion.config import Settings
from ingestion.errors import BeaconError
from ingestion.events.loader import LandingSummary, load_landing
from ingestion.postgres import warehouse_dsn
from ingestion.projects import load_projects


def describe(summary: LandingSummary, seconds: float) -> str:
    rate = summary.lines / seconds if seconds > 0 else 0.0
    return (f"{summary.files_loaded} file(s) loaded, {summary.files_skipped} skipped:"
            f" {summary.lines:,} lines, {summary.loaded:,} loaded,"
            f" {summary.duplicates:,} duplicates, {summary.quarantined:,} quarantined"
            f" in {seconds:.1f} s ({rate:,.0f} lines/s)")


def main(argv: list[str]) -> int:
    import time

    try:
        settings = Settings.from_env()
        landing = Path(argv[0]) if argv else settings.landing_dir
        projects = load_projects(settings.projects_file)
        started = time.monotonic()
        summary = load_landing(warehouse_dsn(settings), landing, projects)
    except BeaconError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(describe(summary, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
