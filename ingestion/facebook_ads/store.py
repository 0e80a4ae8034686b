"""Writing Facebook rows into the raw tables.

Insights are first copied into session-local staging tables while they stream in (from the
API or a CSV file), so a pull that fails half-way leaves the raw tables untouched. Then, in
one transaction, each (account, day) of the window is deleted and the staged rows inserted:
restated days are replaced, days Meta no longer reports vanish, nothing is duplicated.
Dimensions (accounts, campaigns, ad sets, ads) are upserts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

import psycopg
from psycopg import sql

from ingestion.errors import BeaconError
from ingestion.facebook_ads.date_ranges import DateRange
from ingestion.facebook_ads.insight_rows import InsightRow, parse_timestamp

BATCH_ROWS = 5000

INSIGHT_COLUMNS = (
    "ad_account_id", "date_start", "date_stop", "campaign_id", "campaign_name", "adset_id",
    "adset_name", "ad_id", "ad_name", "spend", "impressions", "clicks", "reach", "actions",
    "action_values", "account_currency", "attribution_windows", "source",
)
PLACEMENT_COLUMNS = (
    "ad_account_id", "date_start", "date_stop", "campaign_id", "adset_id", "ad_id",
    "publisher_platform", "platform_position", "spend", "impressions", "clicks", "reach",
    "actions", "action_values", "account_currency", "attribution_windows", "source",
)
TABLES = {False: ("facebook_insights", INSIGHT_COLUMNS),
          True: ("facebook_insights_placement", PLACEMENT_COLUMNS)}


@dataclass(frozen=True)
class SyncSummary:
    """What one load did for one ad account."""

    ad_account_id: str
    since: date
    until: date
    rows: int                  # raw.facebook_insights rows now in the window
    placement_rows: int        # raw.facebook_insights_placement rows now in the window
    spend: Decimal             # their total spend, in the account's currency
    days_replaced: int
    currency: str | None
    source: str                # api | csv
    campaigns: int = 0
    adsets: int = 0
    ads: int = 0

    def describe(self) -> str:
        currency = f" {self.currency}" if self.currency else ""
        return (f"act_{self.ad_account_id} {self.since}..{self.until}: {self.rows} rows,"
                f" {self.placement_rows} placement rows, spend {self.spend}{currency},"
                f" {self.days_replaced} days replaced")


class InsightStage:
    """Temporary tables shaped like the two insights tables, with their primary keys, so a
    row Meta sends twice is caught before anything is replaced. Needs an autocommit
    connection: each batch commits on its own, and no transaction idles during API waits."""

    def __init__(self, conn: psycopg.Connection, *, attribution_windows: str, source: str):
        self.conn = conn
        self.attribution_windows = attribution_windows
        self.source = source
        self.staged: set[bool] = set()  # which tables this load pulled: only those are replaced
        for placement, (table, _) in TABLES.items():
            conn.execute(sql.SQL(
                "create temp table if not exists {stage} (like raw.{table} including defaults"
                " including indexes)").format(stage=_stage(placement), table=sql.Identifier(table)))
            conn.execute(sql.SQL("truncate {stage}").format(stage=_stage(placement)))

    def add(self, rows: Iterable[InsightRow], *, placement: bool) -> None:
        """Copy rows in batches, consuming the iterator as the API pages arrive."""
        self.staged.add(placement)
        iterator = iter(rows)
        while batch := list(islice(iterator, BATCH_ROWS)):
            self._copy(batch, placement)

    def _copy(self, batch: list[InsightRow], placement: bool) -> None:
        _, columns = TABLES[placement]
        statement = sql.SQL("copy {stage} ({columns}) from stdin").format(
            stage=_stage(placement), columns=sql.SQL(", ").join(map(sql.Identifier, columns)))
        try:
            with self.conn.cursor() as cur, cur.copy(statement) as copy:
                for row in batch:
                    copy.write_row(self._values(row, columns))
        except psycopg.errors.UniqueViolation as exc:
            detail = (exc.diag.message_detail or "").removeprefix("Key ").removesuffix(
                " already exists.")
            kind = "placement row" if placement else "row"
            raise BeaconError(f"the same insights {kind} arrived twice: {detail}") from None

    def _values(self, row: InsightRow, columns: tuple[str, ...]) -> list[Any]:
        extra = {"attribution_windows": self.attribution_windows, "source": self.source}
        values = []
        for column in columns:
            value = extra[column] if column in extra else getattr(row, column)
            values.append(json.dumps(value) if column in ("actions", "action_values")
                          and value is not None else value)
        return values

    def replace(self, ad_account_id: str, span: DateRange) -> tuple[int, int, Decimal]:
        """Replace the account's days in `span` by the staged rows, in the tables this load
        pulled (a CSV export has no placement rows: the API's stay). Call inside a transaction.
        Returns (rows, placement rows, spend) now stored for the window."""
        counts = []
        for placement, (table, columns) in TABLES.items():
            if placement not in self.staged:
                counts.append(0)
                continue
            target = sql.Identifier("raw", table)
            self.conn.execute(
                sql.SQL("delete from {target} where ad_account_id = %s"
                        " and date_start between %s and %s").format(target=target),
                (ad_account_id, span.since, span.until))
            names = sql.SQL(", ").join(map(sql.Identifier, columns))
            inserted = self.conn.execute(
                sql.SQL("insert into {target} ({names}) select {names} from {stage}"
                        " where ad_account_id = %s").format(
                    target=target, names=names, stage=_stage(placement)),
                (ad_account_id,))
            counts.append(inserted.rowcount)
        spend = self.conn.execute(
            sql.SQL("select coalesce(sum(spend), 0) from {stage} where ad_account_id = %s")
            .format(stage=_stage(False)), (ad_account_id,)).fetchone()[0]
        return counts[0], counts[1], Decimal(spend)


def _stage(placement: bool) -> sql.Identifier:
    return sql.Identifier("stage_facebook_insights_placement" if placement
                          else "stage_facebook_insights")


# --- dimensions ----------------------------------------------------------------------------

def upsert_account(conn: psycopg.Connection, ad_account_id: str, node: Mapping[str, Any]) -> None:
    _upsert(conn, "facebook_ad_accounts", "ad_account_id",
            [{"ad_account_id": ad_account_id, "name": _str(node.get("name")),
              "currency": _str(node.get("currency")),
              "timezone_name": _str(node.get("timezone_name"))}])


def upsert_campaigns(conn: psycopg.Connection, ad_account_id: str,
                     nodes: Iterable[Mapping[str, Any]], *, keep_existing: bool = False) -> int:
    rows = [{"campaign_id": _id(n, "id", "campaign"), "ad_account_id": ad_account_id,
             "name": _str(n.get("name")), "status": _str(n.get("status")),
             "objective": _str(n.get("objective")), **_times(n, "campaign")} for n in nodes]
    return _upsert(conn, "facebook_campaigns", "campaign_id", rows, keep_existing=keep_existing)


def upsert_adsets(conn: psycopg.Connection, ad_account_id: str,
                  nodes: Iterable[Mapping[str, Any]], *, keep_existing: bool = False) -> int:
    rows = [{"adset_id": _id(n, "id", "ad set"), "ad_account_id": ad_account_id,
             "campaign_id": _str(n.get("campaign_id")), "name": _str(n.get("name")),
             "status": _str(n.get("status")), **_times(n, "ad set")} for n in nodes]
    return _upsert(conn, "facebook_adsets", "adset_id", rows, keep_existing=keep_existing)


def upsert_ads(conn: psycopg.Connection, ad_account_id: str,
               nodes: Iterable[Mapping[str, Any]], *, keep_existing: bool = False) -> int:
    rows = []
    for node in nodes:
        creative = node.get("creative") if isinstance(node.get("creative"), dict) else {}
        rows.append({"ad_id": _id(node, "id", "ad"), "ad_account_id": ad_account_id,
                     "campaign_id": _str(node.get("campaign_id")),
                     "adset_id": _str(node.get("adset_id")), "name": _str(node.get("name")),
                     "status": _str(node.get("status")), "url_tags": _str(creative.get("url_tags")),
                     **_times(node, "ad")})
    return _upsert(conn, "facebook_ads", "ad_id", rows, keep_existing=keep_existing)


def _upsert(conn: psycopg.Connection, table: str, key: str, rows: list[dict[str, Any]],
            *, keep_existing: bool = False) -> int:
    """Insert or update by `key`; with `keep_existing`, rows already there win (a CSV's
    names must not overwrite what the API said, with its statuses and url_tags)."""
    if not rows:
        return 0
    columns = list(rows[0])
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    if keep_existing:
        action = sql.SQL("do nothing")
    else:
        updates = [sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c))
                   for c in columns if c != key]
        action = sql.SQL("do update set {updates}, pulled_at = now()").format(
            updates=sql.SQL(", ").join(updates))
    statement = sql.SQL(
        "insert into {table} ({names}) values ({values}) on conflict ({key}) {action}"
    ).format(table=sql.Identifier("raw", table), names=names,
             values=sql.SQL(", ").join(sql.Placeholder() * len(columns)),
             key=sql.Identifier(key), action=action)
    unique = {row[key]: row for row in rows}  # an edge listing an object twice: keep the last
    # In key order, so concurrent loads (parallel partitions) lock rows in the same order.
    values = [tuple(unique[k][c] for c in columns) for k in sorted(unique)]
    with conn.cursor() as cur:
        cur.executemany(statement, values)
    return len(unique)


def _id(node: Mapping[str, Any], field: str, kind: str) -> str:
    value = _str(node.get(field))
    if value is None:
        raise BeaconError(f"a {kind} from the Graph API has no {field}: {dict(node)!r}"[:300])
    return value


def _times(node: Mapping[str, Any], kind: str) -> dict[str, Any]:
    def fail(problem: str) -> BeaconError:
        return BeaconError(f"{kind} {node.get('id')}: {problem}")

    return {name: parse_timestamp(node.get(name), name, fail)
            for name in ("created_time", "updated_time")}


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\x00", "").strip()
    return text or None
