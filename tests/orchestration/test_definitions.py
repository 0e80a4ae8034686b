"""The code location loads, and its graph runs unbroken from every loader to every mart."""

from __future__ import annotations

from functools import cached_property

import pytest
from dagster import AssetKey

from orchestration.assets.dbt import DbtBuildConfig, dbt_build_args
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
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_parse_profile_stamp_is_private_and_salted() -> None:
    """The stamp tells a changed dbt profile (password included) without exposing it."""
    from orchestration.dbt_project import _profile_stamp, _salt_of, beacon_dbt

    stamp = beacon_dbt.manifest_path.with_name("beacon_parse_profile.stamp")
    assert stamp.stat().st_mode & 0o077 == 0
    salt = _salt_of(stamp.read_text())
    assert _profile_stamp("x", salt).startswith(stamp.read_text().split(":")[0] + ":")
    first = _profile_stamp("BEACON_PGPASSWORD=s3cret", salt)
    assert _profile_stamp("BEACON_PGPASSWORD=s3cret", _salt_of(first)) == first
    assert _profile_stamp("BEACON_PGPASSWORD=other", salt) != first
    assert "s3cret" not in first
    assert _salt_of("") != _salt_of("")  # a new random salt for a missing stamp
