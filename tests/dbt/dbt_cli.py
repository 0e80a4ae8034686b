"""Running real dbt against a test database, in-process.

dbt's programmatic entry point (dbtRunner) runs the same commands as the CLI; in-process it
saves the 2-4 s of interpreter start and project parse each CLI run would cost.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dbt.cli.main import dbtRunner

from ingestion.config import REPO_ROOT
from ingestion.postgres import dbt_env


class DbtFailed(AssertionError):
    pass


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """profiles.yml reads the connection from env vars: set them for one invocation only."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_dbt(dsn: str, target_path: Path, *args: str) -> None:
    """`dbt <args>` on the warehouse at `dsn`; fails the test with the failing nodes' messages.

    Each database gets its own target path, so parallel workers never share dbt's manifest
    and run results, while the runs on one database reuse its partial parse.
    """
    command = [
        *args,
        "--project-dir", str(REPO_ROOT),
        "--profiles-dir", str(REPO_ROOT / "dbt_project"),
        "--target-path", str(target_path),
        "--log-path", str(target_path / "logs"),
        "--quiet",
    ]
    with environment({**dbt_env(dsn), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}):
        result = dbtRunner().invoke(command)
    if not result.success:
        failures = [
            f"{node.node.unique_id}: {node.status}: {node.message}"
            for node in getattr(result.result, "results", None) or []
            if str(node.status) not in ("success", "pass", "skipped")
        ]
        detail = "\n".join(failures) or repr(result.exception)
        raise DbtFailed(f"dbt {' '.join(args)} failed:\n{detail}")
