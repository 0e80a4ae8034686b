"""Jobs: what `beacon` and the schedules run. Partitioned Facebook loads are a job of their own,
since one run cannot mix partitioned and unpartitioned assets."""

from dagster import AssetSelection, define_asset_job

from orchestration.assets.dbt import dbt_models
from orchestration.assets.events import event_files, events_retention
from orchestration.assets.facebook import facebook_ads
from orchestration.assets.projects import projects_registry

# Runs that write raw.events or build the models queue behind each other (the instance's
# tag concurrency limit); the warehouse lock in the assets covers runs started by `beacon`.
WRITER = {"beacon/event_pipeline": "writer"}

event_assets = AssetSelection.assets(projects_registry, event_files, events_retention)

ingest_events_job = define_asset_job(
    "ingest_events",
    tags=WRITER,
    selection=event_assets,
    description="Load the projects registry and new event files; apply retention.",
)
ingest_facebook_job = define_asset_job(
    "ingest_facebook",
    selection=AssetSelection.assets(facebook_ads),
    description="Pull Facebook insights and the ads dimension for a range of days.",
)
dbt_build_job = define_asset_job(
    "dbt_build",
    tags=WRITER,
    selection=AssetSelection.assets(dbt_models),
    description="Build every dbt model and run its tests.",
)
refresh_job = define_asset_job(
    "refresh",
    tags=WRITER,
    selection=event_assets | AssetSelection.assets(dbt_models),
    description="Events ingestion, then the dbt build.",
)

all_jobs = [ingest_events_job, ingest_facebook_job, dbt_build_job, refresh_job]
