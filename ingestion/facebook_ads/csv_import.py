"""Loading an Ads Manager CSV export into the same raw tables as the API.

Export from Ads Manager at the ad level with the "Day" time breakdown and these columns:
"Day" (or "Reporting starts"/"Reporting ends" equal), "Campaign name", "Campaign ID",
"Ad set name", "Ad set ID", "Ad name", "Ad ID", "Amount spent (XXX)" (XXX: the account
currency), "Impressions", "Clicks (all)" (Meta's `clicks`; "Link clicks" is used only when
it is absent), "Reach", optionally "Account ID" and "Attribution setting". One file holds
one ad account. Rows pass the same validation as API rows; the file loads whole or not at
all, and replaces the account's days from its first to its last day (source 'csv').
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from ingestion.errors import BeaconError
from ingestion.facebook_ads.date_ranges import DateRange
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
from ingestion.warehouse import ensure_raw_schema

REQUIRED = ("Ad ID", "Impressions")
SPEND_HEADER = re.compile(r"^Amount spent(?: \((?P<currency>[A-Z]{3})\))?$")
UNSUPPORTED_BREAKDOWNS = ("Placement", "Platform", "Age", "Gender", "Region", "Country")
UNKNOWN_ATTRIBUTION = "unknown"


@dataclass(frozen=True)
class AdsManagerExport:
    ad_account_id: str
    currency: str | None
    attribution_windows: str
    rows: list[InsightRow]

    @property
    def span(self) -> DateRange:
        days = [row.date_start for row in self.rows]
        return DateRange(min(days), max(days))


def load_ads_manager_csv(
    dsn: str, path: Path, *, ad_account_id: str | None = None
) -> SyncSummary:
    """Validate the whole file, then replace its days for its account in one transaction."""
    export = read_ads_manager_csv(path, ad_account_id=ad_account_id)
    account, span = export.ad_account_id, export.span
    with connection(dsn, autocommit=True) as conn:
        ensure_raw_schema(conn)
        stage = InsightStage(conn, attribution_windows=export.attribution_windows, source="csv")
        try:
            stage.add(export.rows, placement=False)
        except BeaconError as exc:
            raise BeaconError(f"{path}: {exc}") from None
        with conn.transaction():
            if not conn.execute("select 1 from raw.facebook_ad_accounts where ad_account_id = %s",
                                (account,)).fetchone():
                upsert_account(conn, account, {"currency": export.currency})
            # Names only: what the API stored (statuses, url_tags) is kept.
            upsert_campaigns(conn, account, _named(export.rows, "campaign"), keep_existing=True)
            upsert_adsets(conn, account, _named(export.rows, "adset"), keep_existing=True)
            upsert_ads(conn, account, _named(export.rows, "ad"), keep_existing=True)
            rows, placement_rows, spend = stage.replace(account, span)
    return SyncSummary(ad_account_id=account, since=span.since, until=span.until, rows=rows,
                       placement_rows=placement_rows, spend=spend, days_replaced=span.days,
                       currency=export.currency, source="csv")


def read_ads_manager_csv(path: Path, *, ad_account_id: str | None = None) -> AdsManagerExport:
    """Parse and validate every row; the first problem is a BeaconError naming its line."""
    account = ad_account_id.removeprefix("act_") if ad_account_id else None
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.DictReader(file)
            columns = _columns(reader.fieldnames or [], path)
            rows: list[InsightRow] = []
            attribution: str | None = None
            for record in reader:
                where = f"{path}:{reader.line_num}"
                if None in record:
                    raise BeaconError(f"{where}: more cells than the header has columns")
                record_account = _cell(record, "Account ID")
                if record_account and account and record_account != account:
                    raise BeaconError(f"{where}: Account ID {record_account} differs from"
                                      f" ad account {account}")
                account = account or record_account
                if not account:
                    raise BeaconError(f"{path} has no Account ID column: name the ad account")
                setting = _attribution(_cell(record, "Attribution setting"))
                if attribution not in (None, setting):
                    raise BeaconError(f"{where}: attribution setting {setting} differs from"
                                      f" {attribution} on earlier rows; export one setting")
                attribution = setting
                rows.append(parse_insight(_as_api_row(record, columns, where), where=where,
                                          ad_account_id=account))
    except UnicodeDecodeError as exc:
        raise BeaconError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise BeaconError(f"{path}: not a valid CSV file ({exc})") from None
    except OSError as exc:
        raise BeaconError(f"cannot read {path}: {exc.strerror}") from None
    if not rows or account is None:
        raise BeaconError(f"{path}: no data rows")
    return AdsManagerExport(account, columns.currency, attribution or UNKNOWN_ATTRIBUTION, rows)


@dataclass(frozen=True)
class _Columns:
    spend: str
    clicks: str | None
    currency: str | None


def _columns(header: list[str], path: Path) -> _Columns:
    names = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if not any(c in names for c in ("Day", "Reporting starts")):
        missing.append("Day")
    spend = [(h, m) for h in names if (m := SPEND_HEADER.match(h))]
    if not spend:
        missing.append("Amount spent (XXX)")
    if missing:
        raise BeaconError(f"{path}: not an ad-level daily Ads Manager export; missing columns: "
                          + ", ".join(missing))
    breakdowns = [c for c in UNSUPPORTED_BREAKDOWNS if c in names]
    if breakdowns:
        raise BeaconError(f"{path}: exports broken down by {', '.join(breakdowns)} are not"
                          " supported; export without breakdowns other than Day")
    clicks = next((c for c in ("Clicks (all)", "Link clicks") if c in names), None)
    header_name, match = spend[0]
    return _Columns(header_name, clicks, match["currency"])


def _as_api_row(record: Mapping[str, str | None], columns: _Columns, where: str
                ) -> dict[str, str | None]:
    """The CSV row in the insights API's shape, for the shared validation."""
    day = _cell(record, "Day")
    if not day:
        starts, ends = _cell(record, "Reporting starts"), _cell(record, "Reporting ends")
        if ends and starts != ends:
            raise BeaconError(f"{where}: reporting {starts}..{ends} is not one day; export with"
                              " the Day breakdown")
        day = starts
    if not _cell(record, "Ad ID"):
        raise BeaconError(f"{where}: no Ad ID (a summary row? export at the ad level, by day,"
                          " without summary rows)")
    ids = {name: _cell(record, name) for name in ("Campaign ID", "Ad set ID", "Ad ID")}
    for name, value in ids.items():
        if value and not value.isdigit():
            raise BeaconError(f"{where}: {name} {value!r} is not a numeric id (was the file"
                              " opened and saved by a spreadsheet?)")
    return {
        "campaign_id": ids["Campaign ID"], "campaign_name": _cell(record, "Campaign name"),
        "adset_id": ids["Ad set ID"], "adset_name": _cell(record, "Ad set name"),
        "ad_id": ids["Ad ID"], "ad_name": _cell(record, "Ad name"),
        "date_start": day, "date_stop": day,
        "spend": _cell(record, columns.spend),
        "impressions": _cell(record, "Impressions"),
        "clicks": _cell(record, columns.clicks) if columns.clicks else None,
        "reach": _cell(record, "Reach"),
        "account_currency": columns.currency,
    }


def _attribution(setting: str | None) -> str:
    """Ads Manager's words to the API's windows: "7-day click or 1-day view" -> 7d_click,1d_view."""
    if not setting:
        return UNKNOWN_ATTRIBUTION
    kinds = {"click": "click", "view": "view", "engaged-view": "ev", "engaged view": "ev"}
    windows = [f"{days}d_{kinds[kind.lower()]}" for days, kind in
               re.findall(r"(\d+)-day (click|engaged[- ]view|view)", setting, re.IGNORECASE)]
    return ",".join(windows) or setting.strip()


def _named(rows: list[InsightRow], level: str) -> Iterator[dict[str, str | None]]:
    """Dimension rows (id, name, parents) as the export shows them, one per id."""
    seen: dict[str, dict[str, str | None]] = {}
    for row in rows:
        node_id = getattr(row, f"{level}_id")
        if node_id:
            seen[node_id] = {"id": node_id, "name": getattr(row, f"{level}_name"),
                             "campaign_id": row.campaign_id, "adset_id": row.adset_id}
    return iter(seen.values())


def _cell(record: Mapping[str, str | None], column: str) -> str | None:
    for key, value in record.items():
        if key is not None and key.strip() == column:
            return value.strip() if value and value.strip() else None
    return None
