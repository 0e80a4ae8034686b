"""The local instance's event log keeps a few shards' connections open, and still reads back
what it stored after they are let go."""

from __future__ import annotations

from pathlib import Path

from dagster import DagsterInstance, job, op

from orchestration.event_log import KEPT_SHARDS, PooledSqliteEventLogStorage
from orchestration.runner import dagster_home


@op
def noop() -> None:
    pass


@job
def tiny_job() -> None:
    noop()


def test_runs_store_their_events_through_kept_connections(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    dagster_home()  # writes the instance's dagster.yaml
    with DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        runs = [
            tiny_job.execute_in_process(instance=instance).run_id for _ in range(KEPT_SHARDS + 2)
        ]
        assert len(storage._engines) == KEPT_SHARDS  # older runs' engines disposed of
        for run_id in runs:  # the first ones reconnect
            assert any(e.is_dagster_event for e in instance.all_logs(run_id))
            assert instance.get_run_by_id(run_id).is_success
        storage.wipe()  # deletes the run shards' files: their connections went first
        assert list(storage._engines) == ["index"]  # wiped in place, reconnected
        assert instance.all_logs(runs[-1]) == []
