"""Running Beacon's jobs in-process on the persistent Dagster instance.

Runs started by `beacon` land in the same instance (`DAGSTER_HOME`, default
`$BEACON_HOME/dagster`) that `make dev` opens, so they appear in the UI's run history.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.engine import Engine

from ingestion.config import Settings
from ingestion.errors import BeaconError
from orchestration.console import verbose

INSTANCE_YAML = """\
# Local Dagster instance for Beacon: runs, events and schedules in SQLite under this folder.
# For production, see config/dagster.postgres.yaml.
telemetry:
  enabled: false
# Dagster's SQLite event log, with its connections kept open (orchestration/event_log.py).
event_log_storage:
  module: orchestration.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {runs}
concurrency:
  runs:
    tag_concurrency_limits:
      - key: beacon/event_pipeline
        limit: 1
"""

# Quiet: our progress lines only (orchestration/console.py); --debug: Dagster's whole log.
VERBOSE_LOGS = {"loggers": {"console": {"config": {"log_level": "DEBUG"}}}}
QUIET_LOGS = {"loggers": {"beacon_console": {}}}


@sqlalchemy_event.listens_for(Engine, "connect")
def _sqlite_commits_without_fsync(dbapi_connection, _record) -> None:
    """The local instance's SQLite storage (WAL mode, set by Dagster) fsyncs every commit: a
    dbt build's few hundred events spent seconds there. WAL with synchronous=NORMAL cannot
    corrupt the database; a power cut may lose the last events of a run, not the history."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def dagster_home(settings: Settings | None = None) -> Path:
    """Point DAGSTER_HOME at Beacon's instance folder (unless set) and make sure it exists."""
    home = Path(
        os.environ.get("DAGSTER_HOME") or (settings or Settings.from_env()).home / "dagster"
    )
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        # JSON's quoting is YAML's too: any folder name reads back as it is.
        config.write_text(INSTANCE_YAML.format(runs=json.dumps(str(home / "history" / "runs"))))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_job(
    job_name: str,
    *,
    resources: Mapping | None = None,
    run_config: Mapping | None = None,
    tags: Mapping[str, str] | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
    instance: DagsterInstance | None = None,
) -> ExecuteInProcessResult:
    """Execute one job of the definitions; a failed run becomes a one-line BeaconError."""
    from orchestration.definitions import build_defs

    with contextlib.ExitStack() as stack:
        if instance is None:
            dagster_home()
            # Closed here, its storage's connections with it, rather than left to the exit.
            instance = stack.enter_context(DagsterInstance.get())
        job = build_defs(dict(resources or {})).resolve_job_def(job_name)
        config = {**(VERBOSE_LOGS if verbose() else QUIET_LOGS), **(run_config or {})}
        # dbt's own log goes to stdout: kept in the run's logs, shown here only with --debug.
        stack.enter_context(contextlib.redirect_stdout(sys.stdout if verbose() else io.StringIO()))
        result = job.execute_in_process(
            run_config=config,
            instance=instance,
            tags=dict(tags or {}),
            asset_selection=list(asset_selection) if asset_selection else None,
            raise_on_error=False,
        )
    if not result.success:
        raise BeaconError(f"run {result.run_id[:8]} of {job_name} failed: {failure_reason(result)}")
    return result


def failure_reason(result: ExecuteInProcessResult) -> str:
    """The innermost error message of the first failed step, in one line."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            return f"{event.step_key}: {_one_line(error.message) or error.cls_name}"
    for event in result.all_events:
        if event.is_failure and event.message:
            return _one_line(event.message)
    return "see the run in the Dagster UI"


def _one_line(message: str) -> str:
    """dbt failures name the failing node after a header; other errors end with their reason."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    if DBT_ERRORS_HEADER in lines:
        detail = lines[lines.index(DBT_ERRORS_HEADER) + 1 :][:2]
        return " - ".join(detail)
    text = lines[-1] if lines else ""
    # "ingestion.errors.BeaconError: reason" -> "reason"; other classes keep their short name.
    text = text.removeprefix("ingestion.errors.BeaconError: ")
    return re.sub(r"^(?:\w+\.)+(\w+: )", r"\1", text)


DBT_ERRORS_HEADER = "Errors parsed from dbt logs:"
