"""Running Beacon's jobs in-process on the persistent Dagster instance.

Runs started by `beacon` land in the same instance (`DAGSTER_HOME`, default
`$BEACON_HOME/dagster`) that `make dev` opens, so they appear in the UI's run history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from dagster import AssetKey, DagsterInstance, ExecuteInProcessResult

from ingestion.config import Settings
from ingestion.errors import BeaconError

INSTANCE_YAML = """\
# Local Dagster instance for Beacon: runs, events and schedules in SQLite under this folder.
# For production, see config/dagster.postgres.yaml.
telemetry:
  enabled: false
"""

# Our loaders report progress with context.log.info; Dagster's own events are DEBUG.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def dagster_home(settings: Settings | None = None) -> Path:
    """Point DAGSTER_HOME at Beacon's instance folder (unless set) and make sure it exists."""
    home = Path(
        os.environ.get("DAGSTER_HOME") or (settings or Settings.from_env()).home / "dagster"
    )
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(INSTANCE_YAML)
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

    if instance is None:
        dagster_home()
        instance = DagsterInstance.get()
    job = build_defs(dict(resources or {})).resolve_job_def(job_name)
    config = {**QUIET_LOGS, **(run_config or {})}
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
            message = error.message.strip().splitlines()
            text = message[-1] if message else error.cls_name or "unknown error"
            return f"{event.step_key}: {text.removeprefix('ingestion.errors.BeaconError: ')}"
    for event in result.all_events:
        if event.is_failure and event.message:
            return event.message.strip().splitlines()[0]
    return "see the run in the Dagster UI"
