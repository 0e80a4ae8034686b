"""Ads Manager CSV exports into the same raw tables, validated the same way."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.errors import BeaconError
from ingestion.facebook_ads.client import GraphApiClient
from ingestion.facebook_ads.csv_import import (
    _attribution,
    load_ads_manager_csv,
    read_ads_manager_csv,
)
from ingestion.facebook_ads.loader import sync_ad_account
from tests.ingestion.facebook_ads.fixture_data import totals

HEADER = ["Reporting starts", "Reporting ends", "Day", "Account ID", "Campaign name",
          "Campaign ID", "Ad set name", "Ad set ID", "Ad name", "Ad ID",
          "Amount spent (EUR)", "Impressions", "Clicks (all)", "Link clicks", "Reach",
          "Attribution setting"]


def export_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Fixture rows as Ads Manager writes them (no link clicks for some: an empty cell)."""
    return [[r["date_start"], r["date_stop"], r["date_start"], r["account_id"],
             r["campaign_name"], r["campaign_id"], r["adset_name"], r["adset_id"], r["ad_name"],
             r["ad_id"], r["spend"], r["impressions"], r["clicks"], "", r["reach"],
             "7-day click or 1-day view"] for r in rows]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as file:  # Ads Manager writes a BOM
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def stored(dsn: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "select ad_account_id, count(*), sum(spend), sum(impressions), sum(clicks),"
            " min(source), max(source), min(attribution_windows), min(account_currency)"
            " from raw.facebook_insights group by 1 order by 1").fetchall()


def test_export_loads_like_the_api_to_the_cent(
    warehouse_dsn: str, tmp_path: Path, accounts: dict[str, dict[str, Any]],
) -> None:
    fixture = [r for r in accounts["2002"]["insights"] if r["date_start"] <= "2024-01-31"]
    path = write_csv(tmp_path / "export.csv", export_rows(fixture))
    summary = load_ads_manager_csv(warehouse_dsn, path)
    count, spend = totals(fixture)
    impressions = sum(int(r["impressions"]) for r in fixture)
    clicks = sum(int(r["clicks"]) for r in fixture)
    assert (count, spend) == (len(fixture), Decimal("2168.22"))
    assert stored(warehouse_dsn) == [("2002", count, spend, impressions, clicks, "csv", "csv",
                                      "7d_click,1d_view", "EUR")]
    assert (summary.rows, summary.spend, summary.days_replaced, summary.since, summary.until,
            summary.currency) == (count, spend, 31, date(2024, 1, 1), date(2024, 1, 31), "EUR")
    with psycopg.connect(warehouse_dsn) as conn:
        assert conn.execute("select count(*) from raw.facebook_ads where ad_account_id = '2002'"
                            ).fetchone() == (3,)
        assert conn.execute("select currency from raw.facebook_ad_accounts").fetchall() == \
            [("EUR",)]

    # the same file again: replaced, not duplicated
    load_ads_manager_csv(warehouse_dsn, path)
    assert stored(warehouse_dsn)[0][1:3] == (count, spend)


def test_export_replaces_api_rows_of_its_days_and_keeps_api_dimensions(
    warehouse_dsn: str, tmp_path: Path, client: GraphApiClient,
    accounts: dict[str, dict[str, Any]],
) -> None:
    sync_ad_account(warehouse_dsn, client, "2002", date(2024, 1, 1), date(2024, 1, 10),
                    include_placements=False)
    fixture = [r for r in accounts["2002"]["insights"] if "2024-01-06" <= r["date_start"]
               <= "2024-01-10"]
    rows = export_rows(fixture)
    for row in rows:
        row[10] = "1.00"
    load_ads_manager_csv(warehouse_dsn, write_csv(tmp_path / "e.csv", rows))
    with psycopg.connect(warehouse_dsn) as conn:
        by_source = conn.execute("select source, count(*), sum(spend) from raw.facebook_insights"
                                 " group by 1 order by 1").fetchall()
        url_tags = conn.execute("select count(url_tags) from raw.facebook_ads").fetchone()[0]
    api_count, api_spend = totals(accounts["2002"]["insights"], "2024-01-01", "2024-01-05")
    assert by_source == [("api", api_count, api_spend),
                         ("csv", len(fixture), Decimal(len(fixture)))]
    assert url_tags == 3  # the CSV's names did not erase what the API stored


def test_export_keeps_the_api_placement_rows_of_its_days(
    warehouse_dsn: str, tmp_path: Path, client: GraphApiClient,
    accounts: dict[str, dict[str, Any]],
) -> None:
    """An Ads Manager export has no placement breakdown: loading one over days the API pulled
    replaces the unbroken rows and leaves the placement rows as they were."""
    sync_ad_account(warehouse_dsn, client, "2002", date(2024, 1, 1), date(2024, 1, 10))
    with psycopg.connect(warehouse_dsn) as conn:
        before = conn.execute("select count(*), sum(spend) from raw.facebook_insights_placement"
                              ).fetchone()
    assert before[0] > 0
    fixture = [r for r in accounts["2002"]["insights"] if "2024-01-06" <= r["date_start"]
               <= "2024-01-10"]
    load_ads_manager_csv(warehouse_dsn, write_csv(tmp_path / "e.csv", export_rows(fixture)))
    with psycopg.connect(warehouse_dsn) as conn:
        after = conn.execute("select count(*), sum(spend) from raw.facebook_insights_placement"
                             ).fetchone()
        sources = conn.execute("select source, count(*) from raw.facebook_insights"
                               " where date_start >= '2024-01-06' group by 1").fetchall()
    assert after == before
    assert sources == [("csv", len(fixture))]


@pytest.mark.parametrize(("cell", "value", "message"), [
    (10, "12,34", r"spend '12,34' is not a number"),
    (10, "-1.00", r"spend '-1.00' is out of range"),
    (11, "1.5", r"impressions '1.5' is not a non-negative whole number"),
    (2, "2024-13-01", r"date_start '2024-13-01' is not a YYYY-MM-DD date"),
    (9, "", r"no Ad ID \(a summary row\?"),
    (9, "1.20E+15", r"Ad ID '1.20E\+15' is not a numeric id"),
    (3, "999", r"Account ID 999 differs from ad account 2002"),
])
def test_a_bad_row_names_its_line_and_nothing_loads(
    warehouse_dsn: str, tmp_path: Path, accounts: dict[str, dict[str, Any]],
    cell: int, value: str, message: str,
) -> None:
    rows = export_rows(accounts["2002"]["insights"][:6])
    load_ads_manager_csv(warehouse_dsn, write_csv(tmp_path / "good.csv", rows))
    before = stored(warehouse_dsn)
    for row in rows:
        row[10] = "99.00"  # rows before and after the bad one must not land either
    rows[3][cell] = value
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(BeaconError, match=rf"^{path}:5: .*{message}"):
        load_ads_manager_csv(warehouse_dsn, path)
    assert stored(warehouse_dsn) == before


def test_file_level_problems_are_clear(tmp_path: Path, accounts: dict[str, dict[str, Any]]
                                       ) -> None:
    rows = export_rows(accounts["2002"]["insights"][:2])
    no_spend = write_csv(tmp_path / "a.csv", [r[:10] + r[11:] for r in rows],
                         HEADER[:10] + HEADER[11:])
    with pytest.raises(BeaconError, match=r"missing columns: Amount spent \(XXX\)"):
        read_ads_manager_csv(no_spend)
    placement = write_csv(tmp_path / "b.csv", [[*r, "Feed"] for r in rows],
                          [*HEADER, "Placement"])
    with pytest.raises(BeaconError, match="broken down by Placement are not supported"):
        read_ads_manager_csv(placement)
    no_account = write_csv(tmp_path / "c.csv", [r[:3] + r[4:] for r in rows],
                           HEADER[:3] + HEADER[4:])
    with pytest.raises(BeaconError, match="has no Account ID column"):
        read_ads_manager_csv(no_account)
    assert read_ads_manager_csv(no_account, ad_account_id="act_2002").ad_account_id == "2002"
    latin = tmp_path / "e.csv"
    latin.write_bytes("Ad ID,Day\n1,2024-01-01,caf\xe9\n".encode("latin-1"))
    with pytest.raises(BeaconError, match="not UTF-8"):
        read_ads_manager_csv(latin)
    empty = write_csv(tmp_path / "f.csv", [])
    with pytest.raises(BeaconError, match="no data rows"):
        read_ads_manager_csv(empty)


def test_a_row_twice_in_a_file_is_refused(warehouse_dsn: str, tmp_path: Path,
                                          accounts: dict[str, dict[str, Any]]) -> None:
    rows = export_rows(accounts["2002"]["insights"][:3])
    path = write_csv(tmp_path / "twice.csv", [*rows, rows[1]])
    with pytest.raises(BeaconError, match=rf"{path}: the same insights row arrived twice"):
        load_ads_manager_csv(warehouse_dsn, path)


def test_link_clicks_when_clicks_all_is_absent(tmp_path: Path,
                                               accounts: dict[str, dict[str, Any]]) -> None:
    rows = export_rows(accounts["2002"]["insights"][:2])
    header = [h for h in HEADER if h != "Clicks (all)"]
    path = write_csv(tmp_path / "l.csv", [[*r[:12], "7", *r[14:]] for r in rows], header)
    assert [r.clicks for r in read_ads_manager_csv(path).rows] == [7, 7]


@pytest.mark.parametrize(("setting", "windows"), [
    ("7-day click or 1-day view", "7d_click,1d_view"),
    ("1-day click", "1d_click"),
    ("7-day click, 1-day view or 1-day engaged-view", "7d_click,1d_view,1d_ev"),
    ("Custom", "Custom"),
    (None, "unknown"),
])
def test_attribution_setting_words_become_api_windows(setting: str | None, windows: str) -> None:
    assert _attribution(setting) == windows
