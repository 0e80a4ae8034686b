"""The daily schedules and the new-files sensor, evaluated as the Dagster daemon would."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import RunRequest, SkipReason, build_schedule_context, build_sensor_context

from ingestion.events.loader import load_landing
from ingestion.projects import Project
from orchestration.commands.pipeline import facebook_window
from orchestration.resources import LandingResource, WarehouseResource
from orchestration.schedules import daily_refresh_schedule, facebook_daily_schedule
from orchestration.sensors import new_event_files_sensor


def test_facebook_schedule_requests_the_trailing_28_days_in_one_run() -> None:
    context = build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 1, 4, 0, tzinfo=UTC)
    )
    request = facebook_daily_schedule(context)
    assert isinstance(request, RunRequest)
    assert request.tags["dagster/asset_partition_range_start"] == "2026-10-04"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-10-31"
    assert request.run_key == "facebook-2026-10-31"


def test_refresh_schedule_requests_one_run_per_day() -> None:
    context = build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 1, 5, 0, tzinfo=UTC)
    )
    assert daily_refresh_schedule(context).run_key == "refresh-2026-11-01"


def _write_events(path: Path, count: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        for n in range(count):
            handle.write(
                json.dumps(
                    {
                        "api_key": "k1",
                        "event_name": "app_open",
                        "session_id": f"s{n}",
                        "timestamp_ms": 1_790_000_000_000 + n,
                        "platform": "android",
                    }
                )
                + "\n"
            )


def test_sensor_requests_one_run_per_new_file_set(warehouse_dsn: str, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    resources = {
        "warehouse": WarehouseResource(dsn=warehouse_dsn),
        "landing": LandingResource(path=str(landing)),
    }
    _write_events(landing / "a.ndjson.gz", 3)

    first = build_sensor_context(resources=resources)
    request = new_event_files_sensor(first)
    assert isinstance(request, RunRequest) and request.tags["beacon/new_files"] == "1"

    # The same files again, with the cursor the first tick left: no second run.
    again = build_sensor_context(resources=resources, cursor=first.cursor)
    assert isinstance(new_event_files_sensor(again), SkipReason)

    # A new file makes a new set, with a new run key.
    _write_events(landing / "b.ndjson.gz", 2)
    third = build_sensor_context(resources=resources, cursor=first.cursor)
    request_b = new_event_files_sensor(third)
    assert isinstance(request_b, RunRequest) and request_b.run_key != request.run_key
    assert request_b.tags["beacon/new_files"] == "2"

    # Once loaded, nothing is pending.
    project = Project(project_id="p1", name="P1", keys=("k1",))
    load_landing(warehouse_dsn, landing, [project], now=datetime(2026, 9, 23, tzinfo=UTC))
    loaded = build_sensor_context(resources=resources, cursor=third.cursor)
    assert isinstance(new_event_files_sensor(loaded), SkipReason)


@pytest.mark.parametrize("since, until, expected", [
    (None, date(2026, 10, 31), (date(2026, 10, 4), date(2026, 10, 31))),
    (date(2026, 10, 30), date(2026, 10, 31), (date(2026, 10, 4), date(2026, 10, 31))),
    (date(2026, 8, 1), date(2026, 10, 31), (date(2026, 8, 1), date(2026, 10, 31))),
])
def test_cli_facebook_window_always_covers_the_restated_days(since, until, expected) -> None:
    assert facebook_window(since, until) == expected
