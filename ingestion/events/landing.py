"""The landing directory: which event files are there, and which of them are new."""

from __future__ import annotations

from pathlib import Path

from ingestion.errors import BeaconError
from ingestion.events import manifest
from ingestion.postgres import connection
from ingestion.warehouse import ensure_raw_schema

SUFFIXES = (".ndjson", ".ndjson.gz")


def check_landing_dir(landing_dir: Path) -> None:
    if not landing_dir.is_dir():
        raise BeaconError(
            f"landing directory {landing_dir} not found: create it or set BEACON_LANDING_DIR"
        )


def find_event_files(landing_dir: Path) -> list[Path]:
    """Every `*.ndjson` / `*.ndjson.gz` file under the directory (any depth), sorted by path.

    Hidden files and folders (a leading dot, as partial uploads often use) are left out.
    """
    check_landing_dir(landing_dir)
    found = [
        path for path in landing_dir.rglob("*")
        if path.name.endswith(SUFFIXES) and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(landing_dir).parts)
    ]
    return sorted(found, key=lambda path: path.relative_to(landing_dir).as_posix())


def source_path(landing_dir: Path, path: Path) -> str:
    """How the manifest names a landing file: its path relative to the landing directory."""
    try:
        relative = path.relative_to(landing_dir).as_posix()
    except ValueError:
        relative = str(path)
    # File names are bytes on Linux: keep undecodable ones readable rather than failing.
    return relative.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def pending_files(dsn: str, landing_dir: Path) -> list[Path]:
    """Files not loaded yet: path, size and mtime first, the checksum only when those differ."""
    files = find_event_files(landing_dir)
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        known = manifest.loaded_fingerprints(conn)
        unsure: dict[Path, str] = {}
        for path in files:
            stat = path.stat()
            fingerprint = (source_path(landing_dir, path), stat.st_size, manifest.mtime_of(stat))
            if fingerprint not in known:
                unsure[path] = manifest.identify(path).checksum
        loaded = manifest.loaded_checksums(conn, list(unsure.values()))
    return [path for path, checksum in unsure.items() if checksum not in loaded]
