"""Asset checks of our own, beyond dbt's tests: the guarantees SPEC 3-4 promise, checked in SQL."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
)

from ingestion.postgres import connection
from orchestration.assets.keys import raw
from orchestration.resources import WarehouseResource

AD_PERFORMANCE = AssetKey(["marts", "fct_ad_performance_daily"])


@asset_check(
    asset=raw("load_manifest"),
    blocking=True,
    description="For every loaded file: loaded + duplicates + quarantined = lines.",
)
def manifest_lines_balance(warehouse: WarehouseResource) -> AssetCheckResult:
    with connection(warehouse.get_dsn()) as conn:
        bad = conn.execute(
            "select source_path, lines_total, lines_loaded, lines_duplicate, lines_quarantined"
            " from raw.load_manifest where status = 'loaded' and lines_total is distinct from"
            " lines_loaded + lines_duplicate + lines_quarantined order by load_id limit 20"
        ).fetchall()
        files = conn.execute(
            "select count(*) from raw.load_manifest where status = 'loaded'"
        ).fetchone()[0]
    return AssetCheckResult(
        passed=not bad,
        metadata={"files_checked": files, "unbalanced": [str(row) for row in bad]},
    )


@asset_check(
    asset=raw("facebook_ad_accounts"),
    description="Each ad account's timezone and currency match its project's; "
    "a mismatch shifts ad days against session days and mixes currencies.",
)
def ad_account_matches_project(warehouse: WarehouseResource) -> AssetCheckResult:
    with connection(warehouse.get_dsn()) as conn:
        mismatched = conn.execute(
            "select a.ad_account_id, p.project_id, a.timezone_name, p.timezone,"
            " a.currency, p.currency"
            " from raw.facebook_ad_accounts as a"
            " join raw.project_ad_accounts as pa using (ad_account_id)"
            " join raw.projects as p on p.project_id = pa.project_id"
            " where a.timezone_name is distinct from p.timezone"
            " or a.currency is distinct from p.currency order by 1"
        ).fetchall()
    return AssetCheckResult(
        passed=not mismatched,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "mismatched_accounts": [
                f"act_{a}: timezone {atz} vs project {p} {ptz}, currency {acur} vs {pcur}"
                for a, p, atz, ptz, acur, pcur in mismatched
            ]
        },
    )


@asset_check(
    asset=AD_PERFORMANCE,
    description="Spend in the mart equals raw Facebook spend of the projects' "
    "ad accounts, to the cent.",
)
def ad_spend_reconciles(warehouse: WarehouseResource) -> AssetCheckResult:
    with connection(warehouse.get_dsn()) as conn:
        raw_spend, mart_spend = conn.execute(
            "select (select coalesce(sum(i.spend), 0) from raw.facebook_insights as i"
            "        join raw.project_ad_accounts using (ad_account_id)),"
            "       (select coalesce(sum(spend), 0) from marts.fct_ad_performance_daily)"
        ).fetchone()
    return AssetCheckResult(
        passed=raw_spend == mart_spend,
        metadata={"raw_spend": float(raw_spend), "mart_spend": float(mart_spend)},
    )


own_checks = [manifest_lines_balance, ad_account_matches_project, ad_spend_reconciles]
