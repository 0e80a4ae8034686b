"""The dbt project as Dagster sees it, and keeping its manifest current."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion.config import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT
DBT_PROFILES_DIR = REPO_ROOT / "dbt_project"

beacon_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROFILES_DIR)


def _newest_source_mtime() -> float:
    sources = [REPO_ROOT / "dbt_project.yml", *(REPO_ROOT / "dbt_project").rglob("*")]
    return max(
        (p.stat().st_mtime for p in sources if p.is_file() and "target" not in p.parts), default=0.0
    )


def ensure_manifest() -> Path:
    """Parse the project when the manifest is missing or older than any model file.

    `dagster dev` would do this through prepare_if_dev(); the CLI and tests load the
    definitions outside it, so they need the same guarantee.
    """
    manifest = beacon_dbt.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime():
        return manifest
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [
            str(dbt),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROFILES_DIR),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ},
    )
    if result.returncode != 0:
        from ingestion.errors import BeaconError

        detail = (result.stdout + result.stderr).strip().splitlines()
        raise BeaconError(f"dbt parse failed: {detail[-1] if detail else result.returncode}")
    return manifest
