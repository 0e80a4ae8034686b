"""Asset keys of the raw layer: `["raw", table]`, the same keys dagster-dbt gives dbt sources."""

from datetime import timedelta

from dagster import AssetKey, FreshnessPolicy


def raw(table: str) -> AssetKey:
    return AssetKey(["raw", table])


PROJECT_TABLES = (
    "projects",
    "project_keys",
    "project_conversion_events",
    "project_funnel_steps",
    "project_ad_accounts",
)
EVENT_TABLES = ("events", "quarantine", "load_manifest")
FACEBOOK_TABLES = (
    "facebook_insights",
    "facebook_insights_placement",
    "facebook_ads",
    "facebook_adsets",
    "facebook_campaigns",
    "facebook_ad_accounts",
)

# Raw sources load daily: a day and a bit without new data is worth a warning, two a failure.
DAILY_SOURCE_FRESHNESS = FreshnessPolicy.time_window(
    fail_window=timedelta(hours=48), warn_window=timedelta(hours=26)
)
