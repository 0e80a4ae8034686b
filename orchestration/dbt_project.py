"""The dbt project as Dagster sees it, and keeping its manifest current."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from ingestion.config import REPO_ROOT, Settings

DBT_PROJECT_DIR = REPO_ROOT
DBT_PROFILES_DIR = REPO_ROOT / "dbt_project"

# The environment variables dbt_project/profiles.yml reads.
PROFILE_VAR_PREFIXES = ("BEACON_PG", "BEACON_DBT_")

beacon_dbt = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROFILES_DIR)


def _newest_source_mtime() -> float:
    sources = [REPO_ROOT / "dbt_project.yml", *(REPO_ROOT / "dbt_project").rglob("*")]
    return max(
        (p.stat().st_mtime for p in sources if p.is_file() and "target" not in p.parts), default=0.0
    )


def dbt_parse_env() -> dict[str, str]:
    """The environment dbt runs with: profiles.yml's variables for the configured warehouse.

    dbt keys its partial-parse cache on the profile's connection (host, port, user, database);
    parsing with any other one makes every `dbt build` re-parse the whole project (~3 s)."""
    from ingestion.postgres import EmbeddedServer, dbt_env

    settings = Settings.from_env()
    dsn = settings.warehouse_dsn or EmbeddedServer.from_settings(settings).url()
    return {**os.environ, **dbt_env(dsn)}


def _profile_stamp(profile: str, salt: bytes) -> str:
    """A salted, slow hash of the profile's variables (the password among them): the stamp
    tells a changed profile without letting its file be used to test password guesses."""
    digest = hashlib.pbkdf2_hmac("sha256", profile.encode(), salt, 100_000)
    return f"{salt.hex()}:{digest.hex()}"


def _salt_of(stamp: str) -> bytes:
    """The salt a stamp was made with; a new one for a missing or unreadable stamp."""
    try:
        salt = bytes.fromhex(stamp.split(":")[0])
    except ValueError:
        salt = b""
    return salt if len(salt) == 16 else os.urandom(16)


def ensure_manifest() -> Path:
    """Parse the project when the manifest is missing, older than any model file, or parsed
    for another warehouse connection.

    `dagster dev` would do this through prepare_if_dev(); the CLI and tests load the
    definitions outside it, so they need the same guarantee.
    """
    manifest = beacon_dbt.manifest_path
    env = dbt_parse_env()
    profile_vars = sorted((k, v) for k, v in env.items() if k.startswith(PROFILE_VAR_PREFIXES))
    stamp_file = manifest.with_name("beacon_parse_profile.stamp")
    saved = stamp_file.read_text() if stamp_file.exists() else ""
    stamp = _profile_stamp(repr(profile_vars), _salt_of(saved))
    if (
        manifest.exists()
        and manifest.stat().st_mtime >= _newest_source_mtime()
        and saved == stamp
    ):
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
        env=env,
    )
    if result.returncode != 0:
        from ingestion.errors import BeaconError

        detail = (result.stdout + result.stderr).strip().splitlines()
        raise BeaconError(f"dbt parse failed: {detail[-1] if detail else result.returncode}")
    stamp_file.unlink(missing_ok=True)  # created anew, so that its mode is 0600
    with os.fdopen(os.open(stamp_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        handle.write(stamp)
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
