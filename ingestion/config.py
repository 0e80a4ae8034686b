"""Settings read from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ingestion.errors import BeaconError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDED_PORT = 54329


def load_dotenv(path: Path = Path(".env")) -> None:
    """Set variables from a `KEY=value` file without overriding the real environment."""
    if not path.is_file():
        return
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.removeprefix("export ").strip()
        os.environ.setdefault(key, value.strip().strip("'\""))


@dataclass(frozen=True)
class Settings:
    warehouse_dsn: str | None
    home: Path
    landing_dir: Path
    projects_file: Path
    embedded_port: int
    meta_access_token: str | None
    meta_graph_url: str
    meta_api_version: str

    @classmethod
    def from_env(cls) -> Settings:
        load_dotenv()
        env = os.environ
        port = env.get("BEACON_DB_PORT", str(DEFAULT_EMBEDDED_PORT))
        if not port.isdigit():
            raise BeaconError(f"BEACON_DB_PORT must be a port number, got {port!r}")
        return cls(
            warehouse_dsn=env.get("WAREHOUSE_DSN") or None,
            home=_path(env.get("BEACON_HOME", ".beacon")),
            landing_dir=_path(env.get("BEACON_LANDING_DIR", "data/landing")),
            projects_file=_path(env.get("BEACON_PROJECTS_FILE", "config/projects.yml")),
            embedded_port=int(port),
            meta_access_token=env.get("META_ACCESS_TOKEN") or None,
            meta_graph_url=env.get("META_GRAPH_URL", "https://graph.facebook.com").rstrip("/"),
            meta_api_version=env.get("META_API_VERSION", "v21.0"),
        )


def _path(value: str) -> Path:
    """Relative paths are taken from the repository root, so commands work from any folder."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def now() -> datetime:
    """The current time, pinned by `BEACON_NOW` (ISO 8601) for reproducible runs."""
    pinned = os.environ.get("BEACON_NOW")
    if not pinned:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BeaconError(f"BEACON_NOW must be an ISO 8601 time, got {pinned!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
