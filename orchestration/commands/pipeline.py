"""`beacon ingest`, `build`, `run`, `demo` and `summary`: the pipeline, run through Dagster."""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from ingestion.config import Settings
from ingestion.errors import BeaconError
from ingestion.projects import load_projects
from orchestration.commands.progress import say
from orchestration.partitions import FACEBOOK_START_DATE, RESTATEMENT_DAYS


def ingest(args: argparse.Namespace) -> int:
    window = None
    if args.source == "facebook" and not args.csv:
        window = facebook_window(args.since, args.until)
    load_projects(Settings.from_env().projects_file)  # fail fast, before a Dagster run starts
    if args.source == "events":
        ingest_events(args.landing)
    elif args.csv:
        load_facebook_csv(args.csv, args.account)
    else:
        ingest_facebook(*window)
    return 0


def ingest_events(landing=None) -> None:
    from orchestration.resources import LandingResource
    from orchestration.runner import run_job

    resources = {"landing": LandingResource(path=str(landing))} if landing else {}
    say("loading event files ...")
    result = run_job("ingest_events", resources=resources)
    events = _materialization(result, ["raw", "events"])
    say(
        f"events: {events.get('files_loaded', 0)} file(s) loaded, "
        f"{events.get('files_skipped', 0)} skipped; {events.get('loaded', 0)} events loaded, "
        f"{events.get('duplicates', 0)} duplicates, "
        f"{_materialization(result, ['raw', 'quarantine']).get('quarantined', 0)} quarantined"
    )


def facebook_window(since: date | None, until: date | None) -> tuple[date, date]:
    """The days to pull: up to `until` (default yesterday), from `since` or earlier, since
    every pull re-covers the trailing window Meta restates (SPEC 3.3)."""
    until = until or date.today() - timedelta(days=1)
    if since and since > until:
        raise BeaconError(f"--since {since} is after --until {until}")
    restated = until - timedelta(days=RESTATEMENT_DAYS - 1)
    since = min(since, restated) if since else restated
    if since < date.fromisoformat(FACEBOOK_START_DATE):
        raise BeaconError(f"--since must be on or after {FACEBOOK_START_DATE}")
    return since, until


def ingest_facebook(since: date, until: date) -> None:
    from orchestration.runner import run_job

    say(f"pulling Facebook insights {since} .. {until} ...")
    result = run_job(
        "ingest_facebook",
        tags={
            "dagster/asset_partition_range_start": since.isoformat(),
            "dagster/asset_partition_range_end": until.isoformat(),
        },
    )
    insights = _materialization(result, ["raw", "facebook_insights"])
    say(
        f"facebook: {insights.get('rows_pulled', 0)} insight rows from "
        f"{insights.get('ad_accounts', 0)} ad account(s), "
        f"spend {insights.get('spend_in_window', 0):,.2f} in the window"
    )


def load_facebook_csv(path, account: str | None) -> None:
    from ingestion.facebook_ads.csv_import import load_ads_manager_csv
    from ingestion.postgres import warehouse_dsn

    summary = load_ads_manager_csv(warehouse_dsn(), path, ad_account_id=account)
    say(f"facebook csv: {summary.rows} rows, spend {summary.spend:,.2f}")


def build(args: argparse.Namespace) -> int:
    dbt_build(full_refresh=args.full_refresh, select=args.select)
    return 0


def dbt_build(*, full_refresh: bool = False, select: list[str] | None = None) -> None:
    from dagster_dbt import build_dbt_asset_selection

    from orchestration.assets.dbt import dbt_models
    from orchestration.runner import run_job

    selection = None
    if select:
        selection = build_dbt_asset_selection([dbt_models], dbt_select=" ".join(select))
        selection = list(selection.resolve([dbt_models]))
        if not selection:
            raise BeaconError(f"--select {' '.join(select)} matches no dbt model")
    say("building dbt models and running their tests ...")
    result = run_job(
        "dbt_build",
        asset_selection=selection,
        run_config={"ops": {"dbt_models": {"config": {"full_refresh": full_refresh}}}},
    )
    built = result.get_asset_materialization_events()
    checks = result.get_asset_check_evaluations()
    failed = [c for c in checks if not c.passed]
    say(f"dbt: {len(built)} models built, {len(checks) - len(failed)}/{len(checks)} tests passed")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    load_projects(settings.projects_file)  # fail fast, before a Dagster run starts
    ingest_events()
    if _has_ad_accounts(settings) and settings.meta_access_token:
        ingest_facebook(*facebook_window(args.since, args.until))
    else:
        say("facebook: skipped (no ad accounts in the registry or META_ACCESS_TOKEN not set)")
    dbt_build(full_refresh=args.full_refresh)
    return 0


def _has_ad_accounts(settings: Settings) -> bool:
    return any(p.facebook_ad_account_ids for p in load_projects(settings.projects_file))


def demo(args: argparse.Namespace) -> int:
    from orchestration.commands.demo import run_demo

    run_demo()
    return 0


def summary(args: argparse.Namespace) -> int:
    from ingestion.postgres import warehouse_dsn
    from orchestration.summary import print_summary

    print_summary(warehouse_dsn())
    return 0


def _materialization(result, key: list[str]) -> dict:
    """The metadata of one asset's materialization in a run, as plain values."""
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        if materialization.asset_key.path == key:
            return {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
    return {}
