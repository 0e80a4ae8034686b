"""Pulling ad accounts from the Graph API into the raw tables.

One call of `sync_ad_account` = one account over `since..until`: the account node and its
campaign/ad set/ad dimensions are upserted, and the window's insights replace what was
stored for those days, in one transaction, after the whole pull succeeded. A Dagster daily
partition is one call with `since == until`; `sync_projects` serves the CLI and schedules,
widening the range to Meta's restatement window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from typing import Any

from ingestion.errors import BeaconError
from ingestion.facebook_ads.client import GraphApiClient
from ingestion.facebook_ads.date_ranges import DateRange, widen_for_restatement
from ingestion.facebook_ads.insight_rows import InsightRow, parse_insight
from ingestion.facebook_ads.store import (
    InsightStage,
    SyncSummary,
    upsert_account,
    upsert_ads,
    upsert_adsets,
    upsert_campaigns,
)
from ingestion.postgres import connection
from ingestion.projects import Project
from ingestion.warehouse import ensure_raw_schema

__all__ = ["SyncSummary", "sync_ad_account", "sync_projects"]

log = logging.getLogger(__name__)
DEFAULT_RESTATEMENT_DAYS = 28


def sync_ad_account(
    dsn: str,
    client: GraphApiClient,
    ad_account_id: str,
    since: date,
    until: date,
    *,
    include_placements: bool = True,
    include_dimensions: bool = True,
) -> SyncSummary:
    """Pull `since..until` (inclusive, the account's days) and replace those days.

    `include_dimensions=False` skips the campaigns/ad sets/ads edges (the account node is
    always read), for callers that run many single-day partitions and pull them once.
    """
    account_id = str(ad_account_id).removeprefix("act_")
    span = DateRange(since, until)
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        node = client.ad_account(account_id)  # first call: a bad token fails before any work
        campaigns, adsets, ads = (
            (list(client.campaigns(account_id)), list(client.adsets(account_id)),
             list(client.ads(account_id))) if include_dimensions else ([], [], []))
        stage = InsightStage(conn, attribution_windows=",".join(client.attribution_windows),
                             source="api")
        stage.add(_checked(client.insights(account_id, since, until), account_id, span,
                           placement=False), placement=False)
        if include_placements:
            stage.add(_checked(client.insights(account_id, since, until, placements=True),
                               account_id, span, placement=True), placement=True)
        with conn.transaction():
            upsert_account(conn, account_id, node)
            counts = (upsert_campaigns(conn, account_id, campaigns),
                      upsert_adsets(conn, account_id, adsets), upsert_ads(conn, account_id, ads))
            rows, placement_rows, spend = stage.replace(account_id, span)
    summary = SyncSummary(
        ad_account_id=account_id, since=span.since, until=span.until, rows=rows,
        placement_rows=placement_rows, spend=spend, days_replaced=span.days,
        currency=node.get("currency"), source="api",
        campaigns=counts[0], adsets=counts[1], ads=counts[2],
    )
    log.info("%s", summary.describe())
    return summary


def sync_projects(
    dsn: str,
    client: GraphApiClient,
    projects: Iterable[Project],
    since: date,
    until: date,
    *,
    restatement_days: int = DEFAULT_RESTATEMENT_DAYS,
    include_placements: bool = True,
    progress: Callable[[str], None] | None = None,
) -> list[SyncSummary]:
    """Every ad account of every project, over `since..until` widened back to the trailing
    `restatement_days` (so since = min(since, until - restatement_days + 1)). Stops at the
    first failing account; accounts already done stay loaded (a rerun is idempotent)."""
    span = widen_for_restatement(since, until, restatement_days)
    summaries = []
    for project in projects:
        for account_id in project.facebook_ad_account_ids:
            if progress:
                progress(f"{project.project_id}: pulling act_{account_id} {span}")
            summary = sync_ad_account(dsn, client, account_id, span.since, span.until,
                                      include_placements=include_placements)
            summaries.append(summary)
            if progress:
                progress(f"{project.project_id}: {summary.describe()}")
    return summaries


def _checked(
    raw_rows: Iterable[Mapping[str, Any]], account_id: str, span: DateRange, *, placement: bool
) -> Iterator[InsightRow]:
    """Parse rows, refusing days outside the window: they would escape the replacement."""
    kind = "placement insights" if placement else "insights"
    for number, raw in enumerate(raw_rows, 1):
        if not isinstance(raw, Mapping):
            raise BeaconError(f"act_{account_id} {kind} row {number}: not a JSON object")
        row = parse_insight(raw, ad_account_id=account_id, placement=placement,
                            where=f"act_{account_id} {kind} row {number}")
        if not span.contains(row.date_start):
            raise BeaconError(f"act_{account_id} {kind} row {number}: day {row.date_start}"
                              f" is outside the requested {span}")
        yield row
