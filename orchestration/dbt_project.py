"""The dbt project as Dagster sees it, and keeping its manifest current."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from ingestion.config import REPO_ROOT
from ingestion.errors import BeaconError

DBT_PROJECT_DIR = REPO_ROOT
DBT_PROFILES_DIR = REPO_ROOT / "dbt_project"

# The profiles.yml variables of the connection fields dbt keys its partial-parse cache on
# (dbt leaves out the password and the thread count, so they are left out here too).
PARSE_KEY_VARS = (
    "BEACON_PGHOST", "BEACON_PGPORT", "BEACON_PGUSER", "BEACON_PGDATABASE", "BEACON_DBT_SCHEMA",
)

def target_schema() -> str:
    """The dbt target's schema (profiles.yml: BEACON_DBT_SCHEMA, default analytics): models
    without a schema of their own, and Beacon's bookkeeping tables."""
    return os.environ.get("BEACON_DBT_SCHEMA", "analytics")


# Where dbt writes its artifacts: dbt's own DBT_TARGET_PATH, which dagster-dbt also reads for
# its invocation folders and the partial parse it copies into them.
TARGET_DIR = REPO_ROOT / os.environ.get("DBT_TARGET_PATH", "target")
beacon_dbt = DbtProject(
    project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROFILES_DIR, target_path=TARGET_DIR
)
# dbt's command line as Beacon runs it (orchestration/dbt_command.py), found beside this
# Python rather than on PATH: Dagster may be started from anywhere.
DBT_EXECUTABLE = Path(sys.executable).with_name("beacon-dbt")
DBT_ASSETS_OP = "dbt_models"  # the op of the @dbt_assets in orchestration/assets/dbt.py


def invocation_folders(
    target_dir: Path, op_name: str = DBT_ASSETS_OP, run_id: str = ""
) -> list[Path]:
    """The folders dagster-dbt gives the dbt invocations of `op_name` under `target_dir`
    (`<op>-<run id[:7]>-<uuid>`: log, compiled SQL, manifest, run results), newest first;
    those of one Dagster run if `run_id` is given."""
    prefix = f"{op_name}-{run_id[:7]}-" if run_id else f"{op_name}-"
    folders = [p for p in target_dir.glob(f"{prefix}*") if p.is_dir()]
    return sorted(folders, key=lambda p: p.stat().st_mtime, reverse=True)


def _newest_source_mtime() -> float:
    sources = [REPO_ROOT / "dbt_project.yml", *(REPO_ROOT / "dbt_project").rglob("*")]
    return max(
        (p.stat().st_mtime for p in sources if p.is_file() and "target" not in p.parts), default=0.0
    )


def dbt_parse_env() -> dict[str, str]:
    """The environment dbt runs with: profiles.yml's variables for the configured warehouse.

    dbt keys its partial-parse cache on the profile's connection (host, port, user, database);
    parsing with any other one makes every `dbt build` re-parse the whole project (~3 s)."""
    from ingestion.postgres import configured_dsn, dbt_env

    return {**os.environ, **dbt_env(configured_dsn())}


def ensure_manifest() -> Path:
    """Parse the project when the manifest is missing, older than any model file, or parsed
    for another warehouse connection (a stamp beside it records the one it was parsed for).

    `dagster dev` would do this through prepare_if_dev(); the CLI and tests load the
    definitions outside it, so they need the same guarantee.
    """
    if not DBT_EXECUTABLE.exists():
        raise BeaconError(f"{DBT_EXECUTABLE} is missing: install Beacon again (make install)")
    manifest = beacon_dbt.manifest_path
    env = dbt_parse_env()
    stamp = "\n".join(f"{name}={env.get(name, '')}" for name in PARSE_KEY_VARS)
    stamp_file = manifest.with_name("beacon_parse_profile.stamp")
    if (
        manifest.exists()
        and manifest.stat().st_mtime >= _newest_source_mtime()
        and stamp_file.exists()
        and stamp_file.read_text() == stamp
    ):
        return manifest
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE),
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
        env=env,
    )
    if result.returncode != 0:
        detail = (result.stdout + result.stderr).strip().splitlines()
        raise BeaconError(f"dbt parse failed: {detail[-1] if detail else result.returncode}")
    stamp_file.write_text(stamp)
    return manifest


class BeaconDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two start-up costs our builds never use (~4 s of each
    build's fixed overhead): a `dbt --version` subprocess to learn the version of the dbt-core
    this venv pins, and an in-process dbt adapter, used only to fetch column metadata.
    Both override private methods: tests/orchestration/test_definitions.py checks they exist."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - the parent's signature
        return None
