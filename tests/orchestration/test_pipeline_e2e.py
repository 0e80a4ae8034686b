"""The whole graph through Dagster: sample data -> raw (events over files, Facebook over HTTP
from the fake Graph API) -> dbt -> marts, with the answers the fixtures fix in advance."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from dagster import DagsterInstance

from ingestion.facebook_ads.fake_graph_api import FakeGraphApi
from ingestion.sample_data import generate
from orchestration.assets.seed_loads import SEED_LOADS
from orchestration.dbt_project import TARGET_DIR, invocation_folders, target_schema
from orchestration.resources import (
    GraphApiResource,
    LandingResource,
    ProjectsRegistryResource,
    WarehouseResource,
)
from orchestration.runner import run_job
from tests.orchestration.marts import MARTS

TOKEN = "e2e-token"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate(out, events=4_000, days=14, seed=3)
    return out


def _fixture_totals(sample: Path, first: date, last: date) -> tuple[int, Decimal]:
    rows, spend = 0, Decimal("0")
    for path in (sample / "facebook").glob("act_*.json"):
        for row in json.loads(path.read_text())["insights"]:
            if first <= date.fromisoformat(row["date_start"]) <= last:
                rows += 1
                spend += Decimal(row["spend"])
    return rows, spend


def test_whole_graph_materializes_with_known_totals(
    warehouse_dsn: str, sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = json.loads((sample / "summary.json").read_text())
    last = date.fromisoformat(summary["end_date"])
    first = last - timedelta(days=13)
    monkeypatch.setenv("BEACON_NOW", f"{last + timedelta(days=1)}T06:00:00+00:00")
    instance = DagsterInstance.ephemeral()

    with FakeGraphApi(sample / "facebook", access_token=TOKEN) as api:
        resources = {
            "warehouse": WarehouseResource(dsn=warehouse_dsn),
            "projects_registry": ProjectsRegistryResource(path=str(sample / "projects.yml")),
            "landing": LandingResource(path=str(sample / "landing")),
            "graph_api": GraphApiResource(
                base_url=api.url, api_version="v21.0", access_token=TOKEN
            ),
        }
        run_job("ingest_events", resources=resources, instance=instance)
        run_job(
            "ingest_facebook",
            resources=resources,
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": first.isoformat(),
                "dagster/asset_partition_range_end": last.isoformat(),
            },
        )
    built = run_job("dbt_build", resources=resources, instance=instance)

    # Every dbt test ran as an asset check and passed.
    checks = built.get_asset_check_evaluations()
    assert checks and [c.check_name for c in checks if not c.passed] == []

    # dbt's log file at info (orchestration/assets/dbt.py): its results, not every statement.
    [folder] = invocation_folders(TARGET_DIR, run_id=built.run_id)
    logged = {json.loads(line)["info"]["name"] for line in (folder / "dbt.log").open()}
    assert "LogModelResult" in logged and "SQLQuery" not in logged

    # Seeds load when they change (orchestration/assets/seed_loads.py): the next whole build
    # loads (and tests) again only the seed whose recorded fingerprint no longer matches.
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        conn.execute(
            f"update {target_schema()}.{SEED_LOADS} set fingerprint = 'stale'"
            " where seed = 'seed.beacon.utm_mediums'"
        )
    again = run_job("dbt_build", resources=resources, instance=instance)
    built_again = {tuple(e.asset_key.path) for e in again.get_asset_materialization_events()}
    assert [path for path in built_again if path[0] == "seeds"] == [("seeds", "utm_mediums")]
    assert ("marts", "fct_events") in built_again
    checked_again = {c.asset_key.path[-1] for c in again.get_asset_check_evaluations()}
    assert {"utm_mediums", "fct_sessions"} <= checked_again
    assert "traffic_sources" not in checked_again

    expected_rows, expected_spend = _fixture_totals(sample, first, last)
    with psycopg.connect(warehouse_dsn) as conn:

        def one(sql: str):
            return conn.execute(sql).fetchone()[0]

        # Every line of every file is accounted for, once.
        assert one("select sum(lines_total) from raw.load_manifest") == summary["lines"]
        assert one("select sum(lines_loaded) from raw.load_manifest") == one(
            "select count(*) from raw.events"
        )
        assert one("select count(*) from raw.quarantine") == one(
            "select sum(lines_quarantined) from raw.load_manifest"
        )

        # Facebook: all fixture rows, spend to the cent, raw and mart alike.
        assert one("select count(*) from raw.facebook_insights") == expected_rows
        assert one("select sum(spend) from raw.facebook_insights") == expected_spend
        assert one("select sum(spend) from marts.fct_ad_performance_daily") == expected_spend

        # Every mart has rows, and the marts agree with each other.
        for mart in MARTS:
            assert one(f"select count(*) from marts.{mart}") > 0, mart
        assert one("select sum(sessions) from marts.fct_daily_rollups") == one(
            "select count(*) from marts.fct_sessions where not is_bot"
        )
        assert one("select count(*) from marts.dim_visitors") == one(
            "select count(distinct (project_id, anonymous_id)) from marts.fct_sessions"
        )
        assert one("select sum(events) from marts.fct_sessions") == one(
            "select count(*) from marts.fct_events"
        )
        assert one("select count(*) from marts.fct_sessions where is_bot") > 0
        assert one("select sum(conversions) from marts.fct_ad_performance_daily") > 0
