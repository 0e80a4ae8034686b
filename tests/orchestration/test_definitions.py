"""The code location loads, and its graph runs unbroken from every loader to every mart."""

from __future__ import annotations

import os
import subprocess
import sys
from functools import cached_property
from pathlib import Path

import pytest
from dagster import AssetKey

from orchestration.assets.dbt import DbtBuildConfig, dbt_build_args, prune_invocation_folders
from orchestration.assets.keys import EVENT_TABLES, FACEBOOK_TABLES, PROJECT_TABLES, raw
from orchestration.definitions import defs

GRAPH = defs.resolve_asset_graph()


def upstream(key: AssetKey) -> set[AssetKey]:
    seen: set[AssetKey] = set()
    todo = [key]
    while todo:
        for parent in GRAPH.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def mart(name: str) -> AssetKey:
    return AssetKey(["marts", name])


def test_definitions_load_with_jobs_schedules_and_sensors() -> None:
    assert {job.name for job in defs.jobs} == {
        "ingest_events",
        "ingest_facebook",
        "dbt_build",
        "refresh",
    }
    assert {s.name for s in defs.schedules} == {"facebook_daily_schedule", "daily_refresh_schedule"}
    assert {s.name for s in defs.sensors} == {"new_event_files_sensor"}


def test_every_dbt_source_is_a_loader_asset() -> None:
    """No dangling external assets: each raw table dbt reads is materialized by a loader."""
    raw_keys = {k for k in GRAPH.get_all_asset_keys() if k.path[0] == "raw"}
    dangling = sorted(k.to_user_string() for k in raw_keys if not GRAPH.get(k).is_materializable)
    assert dangling == []
    expected = {raw(t) for t in (*PROJECT_TABLES, *EVENT_TABLES, *FACEBOOK_TABLES)}
    assert expected <= raw_keys


@pytest.mark.parametrize(
    "name, sources",
    [
        ("fct_events", ["events", "projects"]),
        ("fct_sessions", ["events", "projects", "project_conversion_events"]),
        ("dim_visitors", ["events"]),
        ("dim_users", ["events"]),
        ("fct_daily_rollups", ["events", "projects"]),
        ("fct_funnel_daily", ["events", "project_funnel_steps"]),
        ("dim_ads", ["facebook_ads", "facebook_adsets", "facebook_campaigns"]),
        ("fct_ad_performance_daily", ["facebook_insights", "events", "project_ad_accounts"]),
        ("fct_adset_performance_daily", ["facebook_insights", "events"]),
        ("fct_campaign_performance_daily", ["facebook_insights", "events"]),
    ],
)
def test_lineage_runs_from_raw_through_staging_to_each_mart(name: str, sources: list[str]) -> None:
    above = upstream(mart(name))
    assert {raw(s) for s in sources} <= above
    assert any(k.path[0] == "staging" for k in above)


def test_every_loader_feeds_some_mart() -> None:
    marts = [k for k in GRAPH.get_all_asset_keys() if k.path[0] == "marts"]
    feeding = set().union(*(upstream(k) for k in marts))
    unused = {raw(t) for t in ("events", "facebook_insights", "projects")} - feeding
    assert unused == set()


def test_dbt_checks_are_asset_checks() -> None:
    checks = {c.asset_key for c in GRAPH.asset_check_keys}
    assert mart("fct_sessions") in checks
    assert raw("load_manifest") in checks  # our own: loaded + duplicates + quarantined = lines


@pytest.mark.parametrize(
    "full_refresh, expected",
    [
        (False, ["build"]),
        (True, ["build", "--full-refresh"]),
    ],
)
def test_dbt_build_args(full_refresh: bool, expected: list[str]) -> None:
    assert dbt_build_args(DbtBuildConfig(full_refresh=full_refresh)) == expected


def test_dbt_resource_overrides_still_match_dagster_dbt() -> None:
    """BeaconDbtCliResource replaces two private members of DbtCliResource: an upgrade that
    renames them would silently bring back their start-up cost."""
    from dagster_dbt import DbtCliResource

    from orchestration.dbt_project import BeaconDbtCliResource
    from orchestration.definitions import default_resources

    assert callable(DbtCliResource._initialize_dbt_core_adapter)
    assert isinstance(DbtCliResource.__dict__["_cli_version"], cached_property)
    resource = default_resources()["dbt"]
    assert isinstance(resource, BeaconDbtCliResource)
    assert resource._cli_version.major == 1 and resource._cli_version.minor == 11


def test_dbt_runs_as_beacon_dbt_with_its_collector_set() -> None:
    """Builds run dbt through `beacon-dbt` (orchestration/dbt_command.py): dbt's own command
    line, in a process that collects less and not at exit."""
    from orchestration.definitions import default_resources
    from orchestration.gc_tuning import YOUNG_GENERATION_THRESHOLD

    executable = default_resources()["dbt"].dbt_executable
    assert Path(executable).name == "beacon-dbt"
    version = subprocess.run([executable, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "installed: 1.11." in version.stdout
    # Registered before collect_less, the probe runs after its freeze (atexit: last first).
    probe = (
        "import atexit, gc; from orchestration.gc_tuning import collect_less; "
        "atexit.register(lambda: print(gc.get_threshold(), gc.get_freeze_count() > 0)); "
        "collect_less()"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    assert out.strip() == f"({YOUNG_GENERATION_THRESHOLD}, 10, 10) True"


def test_manifest_is_parsed_again_only_for_another_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ensure_manifest runs `dbt parse` when the warehouse connection changes (dbt would
    re-parse at every build otherwise), and not for a password change: dbt's own partial-parse
    key leaves the password out, and so does the stamp, which never holds it."""
    from orchestration.dbt_project import beacon_dbt, ensure_manifest

    manifest = beacon_dbt.manifest_path
    stamp = manifest.with_name("beacon_parse_profile.stamp")

    def parsed_for(dsn: str) -> bool:
        monkeypatch.setenv("WAREHOUSE_DSN", dsn)
        before = manifest.stat().st_mtime_ns if manifest.exists() else None
        ensure_manifest()
        return manifest.stat().st_mtime_ns != before

    parsed_for("postgresql://reader:first-secret@db.example:5432/beacon")
    assert not parsed_for("postgresql://reader:first-secret@db.example:5432/beacon")
    assert not parsed_for("postgresql://reader:second-secret@db.example:5432/beacon")
    assert "secret" not in stamp.read_text()
    assert parsed_for("postgresql://reader:second-secret@db.example:6432/beacon")
    assert "BEACON_PGPORT=6432" in stamp.read_text().splitlines()


def test_only_the_newest_dbt_invocation_folders_are_kept(tmp_path: Path) -> None:
    for n in range(5):
        folder = tmp_path / f"dbt_models-aaaaaa{n}-bbbbbb{n}"
        folder.mkdir()
        (folder / "dbt.log").write_text("log")
        os.utime(folder, (1_000_000 + n, 1_000_000 + n))
    (tmp_path / "manifest.json").write_text("{}")
    (tmp_path / "other_op-aaaaaa0-bbbbbb0").mkdir()

    prune_invocation_folders(tmp_path, keep=2)

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "dbt_models-aaaaaa3-bbbbbb3", "dbt_models-aaaaaa4-bbbbbb4", "manifest.json",
        "other_op-aaaaaa0-bbbbbb0",
    ]
