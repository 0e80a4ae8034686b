"""`beacon`'s quiet console shows Beacon's progress lines and nothing else of a run's log."""

from __future__ import annotations

import pytest
from dagster import job, op

from orchestration.assets.progress import progress, throttled_progress
from orchestration.console import beacon_console


@op
def chatty(context) -> None:
    progress(context)("loaded 3 files")
    context.log.info("Running dbt command: `dbt build`")  # dagster-dbt's kind of INFO line
    context.log.warning("a warning of someone else's")
    report = throttled_progress(context, every_seconds=3600)
    report("file 1 of 2")
    report("file 2 of 2")  # within the interval: in the run's log only


@job(logger_defs={"beacon_console": beacon_console})
def chatty_job() -> None:
    chatty()


def test_quiet_console_prints_only_progress_lines(capfd: pytest.CaptureFixture[str]) -> None:
    result = chatty_job.execute_in_process(run_config={"loggers": {"beacon_console": {}}})
    assert result.success
    assert capfd.readouterr().err.splitlines() == ["  loaded 3 files", "  file 1 of 2"]
