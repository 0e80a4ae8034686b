"""`beacon bench`'s report: the profile of a build (dbt's own seconds and its slowest nodes, read
from the newest invocation folder that dagster-dbt left under target/, a folder of another op
ignored) and the table, with its warning when the machine's speed changed mid-run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from orchestration.commands.bench import last_dbt_profile, markdown_table


def _invocation(target: Path, name: str, elapsed: float, nodes: dict[str, float], at: int) -> None:
    folder = target / name
    folder.mkdir(parents=True)
    results = [{"unique_id": node, "execution_time": s} for node, s in nodes.items()]
    (folder / "run_results.json").write_text(
        json.dumps({"elapsed_time": elapsed, "results": results})
    )
    os.utime(folder, (at, at))


def test_the_profile_names_the_newest_builds_slowest_nodes(tmp_path: Path) -> None:
    _invocation(tmp_path, "dbt_models-a-1", 99.0, {"model.beacon.old": 50.0}, at=1_000)
    _invocation(tmp_path, "other_op-c-3", 1.0, {"model.beacon.other": 1.0}, at=3_000)
    _invocation(tmp_path, "dbt_models-b-2", 12.34, {
        "model.beacon.fct_events": 6.04, "test.beacon.unique_x.abc123": 0.5,
        "model.beacon.fct_sessions": 2.0, "operation.beacon.beacon-on-run-start-1": 1.0,
    }, at=2_000)

    profile = last_dbt_profile(tmp_path, slowest=2)

    assert profile == {"dbt_s": 12.3, "slowest": {"fct_events": 6.0, "fct_sessions": 2.0}}


def _report(full_build: float = 1.3, incremental_build: float = 1.3) -> dict:
    return {
        "events": 1000, "floor_events_per_s": 100, "floor_runs_s": [9.8, 10.2],
        "ingest_events_per_s": 80, "ingest_vs_floor": 0.8, "ingest_peak_rss_mb": 90,
        "full_build_s": 10.0, "fixed_overhead_s": 3.0, "incremental_build_s": 4.6,
        "incremental_vs_full": 0.46, "reference_day_events": 10,
        "incremental_reference_day_s": 3.2, "machine": "m", "cpu_check_s": [1.31, 2.0],
        "cpu_check_before_s": {"full_build": full_build, "incremental_build": incremental_build},
    }


def test_the_table_lists_each_builds_profile() -> None:
    report = _report()
    report["profile"] = {"incremental_build": {"dbt_s": 2.0, "slowest": {"fct_events": 1.1}}}
    table = markdown_table(report)
    assert "- incremental build: dbt 2.0 s; fct_events 1.1" in table
    assert "1.31 s before the run, 2.0 s after" in table
    assert "| 100 ev/s | mean of 9.8 s before the loader and 10.2 s after |" in table


def test_the_table_warns_when_the_speed_changed_between_the_ratios_builds() -> None:
    drifted = markdown_table(_report(full_build=1.3, incremental_build=1.95))
    steady = markdown_table(_report(full_build=1.3, incremental_build=1.6))

    assert "speed changed between the whole build (CPU check 1.3 s before it)" in drifted
    assert "and the incremental one (1.95 s)" in drifted
    assert "Warning" not in steady
