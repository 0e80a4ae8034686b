"""Facebook ad insights and the ads dimension, one daily partition per ad-account day.

A backfill over many days runs as one run (single-run backfill policy), so a 90-day range
is one API pull, which the client turns into async report runs.
"""

from datetime import date

from dagster import (
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    multi_asset,
)

from ingestion.facebook_ads.loader import sync_projects
from ingestion.postgres import connection
from orchestration.assets.keys import DAILY_SOURCE_FRESHNESS, FACEBOOK_TABLES, raw
from orchestration.assets.policies import INGESTION_RETRY, fail_fast_on_user_errors
from orchestration.assets.progress import throttled_progress
from orchestration.partitions import facebook_daily
from orchestration.resources import GraphApiResource, ProjectsRegistryResource, WarehouseResource

DESCRIPTIONS = {
    "facebook_insights": "Ad-level daily insights (spend, impressions, clicks, reach, actions)",
    "facebook_insights_placement": "The same insights broken down by placement (never summed "
    "with the unbroken rows)",
    "facebook_ads": "Ads, with their creative's url_tags",
    "facebook_adsets": "Ad sets",
    "facebook_campaigns": "Campaigns",
    "facebook_ad_accounts": "Ad accounts, with their currency and timezone",
}


@multi_asset(
    specs=[
        AssetSpec(
            raw(table),
            group_name="raw",
            kinds={"postgres", "facebook"},
            description=DESCRIPTIONS[table],
            freshness_policy=DAILY_SOURCE_FRESHNESS,
            deps=[raw("project_ad_accounts")],
        )
        for table in FACEBOOK_TABLES
    ],
    name="facebook_ads",
    partitions_def=facebook_daily,
    backfill_policy=BackfillPolicy.single_run(),
    retry_policy=INGESTION_RETRY,
)
def facebook_ads(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    graph_api: GraphApiResource,
    projects_registry: ProjectsRegistryResource,
):
    window = context.partition_time_window
    since: date = window.start.date()
    until: date = date.fromordinal(window.end.date().toordinal() - 1)  # end is exclusive
    dsn = warehouse.get_dsn()
    # The partitions are the window: the schedule asks for the trailing 28 of them.
    with fail_fast_on_user_errors():
        summaries = sync_projects(
            dsn,
            graph_api.client(),
            projects_registry.load(),
            since,
            until,
            restatement_days=1,
            progress=throttled_progress(context),
        )
    with connection(dsn) as conn:
        totals = {
            t: conn.execute(f"select count(*) from raw.{t}").fetchone()[0] for t in FACEBOOK_TABLES
        }
        spend = conn.execute(
            "select coalesce(sum(spend), 0) from raw.facebook_insights"
            " where date_start between %s and %s",
            (since, until),
        ).fetchone()[0]
    for table in FACEBOOK_TABLES:
        metadata = {"dagster/row_count": totals[table], "since": str(since), "until": str(until)}
        if table == "facebook_insights":
            metadata.update(
                ad_accounts=len(summaries),
                rows_pulled=sum(s.rows for s in summaries),
                spend_in_window=float(spend),
            )
        yield MaterializeResult(asset_key=raw(table), metadata=metadata)
