"""Event files from the landing directory into raw.events, raw.quarantine and the manifest."""

from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, asset, multi_asset

from ingestion.events.loader import load_landing
from ingestion.events.retention import delete_expired_events
from ingestion.postgres import connection
from ingestion.warehouse import pipeline_writer_lock
from orchestration.assets.keys import DAILY_SOURCE_FRESHNESS, EVENT_TABLES, PROJECT_TABLES, raw
from orchestration.assets.policies import INGESTION_RETRY, fail_fast_on_user_errors
from orchestration.assets.progress import progress, throttled_progress
from orchestration.resources import LandingResource, ProjectsRegistryResource, WarehouseResource

DESCRIPTIONS = {
    "events": "raw.events: every SDK shape mapped to typed columns, one row per message",
    "quarantine": "raw.quarantine: lines that could not be loaded, with file, line and reason",
    "load_manifest": "raw.load_manifest: one row per event file version, with line counts",
}


@multi_asset(
    specs=[
        AssetSpec(
            raw(table),
            group_name="raw",
            kinds={"postgres"},
            description=DESCRIPTIONS[table],
            freshness_policy=DAILY_SOURCE_FRESHNESS,
            deps=[raw("project_keys")],
        )
        for table in EVENT_TABLES
    ],
    name="event_files",
    retry_policy=INGESTION_RETRY,
)
def event_files(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    projects_registry: ProjectsRegistryResource,
    landing: LandingResource,
):
    dsn = warehouse.get_dsn()
    with fail_fast_on_user_errors(), pipeline_writer_lock(dsn, progress=progress(context)):
        summary = load_landing(
            dsn, landing.get_path(), projects_registry.load(), progress=throttled_progress(context)
        )
    with connection(dsn) as conn:
        totals = {
            t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in EVENT_TABLES
        }
    run_metadata = {
        "files_seen": summary.files_seen,
        "files_loaded": summary.files_loaded,
        "files_skipped": summary.files_skipped,
    }
    yield MaterializeResult(
        asset_key=raw("events"),
        metadata={
            **run_metadata,
            "lines": summary.lines,
            "loaded": summary.loaded,
            "duplicates": summary.duplicates,
            "dagster/row_count": totals["events"],
        },
    )
    yield MaterializeResult(
        asset_key=raw("quarantine"),
        metadata={"quarantined": summary.quarantined, "dagster/row_count": totals["quarantine"]},
    )
    yield MaterializeResult(
        asset_key=raw("load_manifest"),
        metadata={**run_metadata, "dagster/row_count": totals["load_manifest"]},
    )


@asset(
    key=["raw", "events_retention"],
    group_name="raw",
    deps=[raw("events"), *(raw(t) for t in PROJECT_TABLES[:1])],
    kinds={"postgres"},
    description="Deletes raw events older than each project's retention_days.",
    retry_policy=INGESTION_RETRY,
)
def events_retention(warehouse: WarehouseResource, projects_registry: ProjectsRegistryResource):
    dsn = warehouse.get_dsn()
    with fail_fast_on_user_errors(), pipeline_writer_lock(dsn):
        deleted = delete_expired_events(dsn, projects_registry.load())
    return MaterializeResult(
        metadata={
            "deleted": sum(deleted.values()),
            **{f"deleted.{p}": n for p, n in deleted.items()},
        }
    )
