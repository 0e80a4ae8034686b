"""Pulling ad accounts into PostgreSQL through the fake Graph API, checked to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ingestion.errors import BeaconError
from ingestion.facebook_ads.client import GraphApiClient
from ingestion.facebook_ads.fake_graph_api import FakeGraphApi, load_fixtures
from ingestion.facebook_ads.graph_errors import AccessTokenError
from ingestion.facebook_ads.loader import sync_ad_account, sync_projects
from ingestion.projects import Project
from tests.ingestion.facebook_ads.conftest import TOKEN
from tests.ingestion.facebook_ads.fixture_data import build_account, totals, write_fixtures

JAN_1, JAN_28, MAR_30 = date(2024, 1, 1), date(2024, 1, 28), date(2024, 3, 30)


def stored(dsn: str, account: str, table: str = "facebook_insights") -> tuple[int, Decimal]:
    with psycopg.connect(dsn) as conn:
        count, spend = conn.execute(
            f"select count(*), coalesce(sum(spend), 0) from raw.{table}"
            " where ad_account_id = %s", (account,)).fetchone()
    return count, spend


def query(dsn: str, sql: str, *params: Any) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchall()


def test_pull_loads_every_page_and_matches_the_fixtures_to_the_cent(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
    accounts: dict[str, dict[str, Any]],
) -> None:
    summary = sync_ad_account(warehouse_dsn, client, "1001", JAN_1, JAN_28)
    fixture = accounts["1001"]
    rows, spend = totals(fixture["insights"], "2024-01-01", "2024-01-28")
    placement_rows, placement_spend = totals(fixture["insights_placement"],
                                             "2024-01-01", "2024-01-28")
    assert (rows, spend) == (96, Decimal("1609.32"))
    assert stored(warehouse_dsn, "1001") == (rows, spend)
    assert stored(warehouse_dsn, "1001", "facebook_insights_placement") == \
        (placement_rows, placement_spend) == (288, spend)
    assert (summary.rows, summary.placement_rows, summary.spend, summary.days_replaced) == \
        (96, 288, spend, 28)
    assert (summary.campaigns, summary.adsets, summary.ads, summary.currency) == (2, 2, 4, "USD")
    assert len([r for r in fake_api.requests if r.path.endswith("/insights")]) == 10 + 29

    # one row, every column: numbers as numeric, actions verbatim, provenance
    row = query(warehouse_dsn, "select spend, impressions, clicks, reach, actions -> 1 ->> 'value',"
                " action_values, account_currency, attribution_windows, source, date_stop"
                " from raw.facebook_insights where ad_id = '1001301'"
                " and date_start = '2024-01-01'")[0]
    assert row == (Decimal("11.55"), 207, 5, 165, "0",
                   [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "0.00"}],
                   "USD", "7d_click,1d_view", "api", date(2024, 1, 1))
    assert query(warehouse_dsn, "select name, currency, timezone_name from"
                 " raw.facebook_ad_accounts") == [("Account 1001", "USD", "America/New_York")]
    assert query(warehouse_dsn, "select ad_id, adset_id, campaign_id, status, url_tags,"
                 " created_time from raw.facebook_ads order by ad_id limit 1") == [
        ("1001300", "1001200", "1001100", "ACTIVE", "utm_source=facebook&utm_ad_id=1001300",
         query(warehouse_dsn, "select '2023-12-01T09:10:00-0500'::timestamptz")[0][0])]


def test_second_pull_replaces_restated_days_without_duplicates(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
) -> None:
    sync_ad_account(warehouse_dsn, client, "1001", JAN_1, JAN_28)
    before = query(warehouse_dsn, "select pulled_at from raw.facebook_ads limit 1")[0][0]
    fake_api.restate_on_pull(2, factor="1.1", drop_ad_ids=("1001311",))
    summary = sync_ad_account(warehouse_dsn, client, "1001", date(2024, 1, 15), JAN_28)

    restated = fake_api.served_rows("1001", "2024-01-15", "2024-01-28", pull=2)
    untouched = fake_api.served_rows("1001", "2024-01-01", "2024-01-14", pull=1)
    window = fake_api.served_rows("1001", "2024-01-15", "2024-01-28", pull=1)
    dropped = [r for r in window if r["ad_id"] == "1001311"]
    assert len(dropped) == 12 and len(restated) == len(window) - 12 == 36
    expected_rows, expected_spend = totals(restated + untouched)
    assert stored(warehouse_dsn, "1001") == (expected_rows, expected_spend)
    assert (summary.rows, summary.spend) == totals(restated)
    assert query(warehouse_dsn, "select count(*) from raw.facebook_insights"
                 " where ad_id = '1001311' and date_start >= '2024-01-15'") == [(0,)]
    assert query(warehouse_dsn, "select count(*) from raw.facebook_insights"
                 " where ad_id = '1001311' and date_start < '2024-01-15'") == [(12,)]
    # one ad-day, restated: the stored spend is the new one, x1.1 rounded to the cent
    new = next(r for r in restated if r["ad_id"] == "1001300")
    old = next(r for r in window
               if r["ad_id"] == "1001300" and r["date_start"] == new["date_start"])
    assert Decimal(new["spend"]) == (Decimal(old["spend"]) * Decimal("1.1")).quantize(
        Decimal("0.01")) != Decimal(old["spend"])
    assert query(warehouse_dsn, "select spend from raw.facebook_insights where ad_id = '1001300'"
                 " and date_start = %s", new["date_start"]) == [(Decimal(new["spend"]),)]
    assert query(warehouse_dsn, "select count(*), count(distinct (ad_id, date_start))"
                 " from raw.facebook_insights") == [(expected_rows, expected_rows)]
    assert stored(warehouse_dsn, "1001", "facebook_insights_placement")[0] == \
        len(fake_api.served_rows("1001", "2024-01-15", "2024-01-28", placements=True, pull=2)) + \
        len(fake_api.served_rows("1001", "2024-01-01", "2024-01-14", placements=True))
    assert query(warehouse_dsn, "select pulled_at > %s from raw.facebook_ads limit 1",
                 before) == [(True,)]


def test_expired_token_fails_fast_and_writes_nothing(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi, sleeps: list[float],
) -> None:
    sync_ad_account(warehouse_dsn, client, "1001", JAN_1, JAN_28)
    snapshot = query(warehouse_dsn, "select ad_id, date_start, spend, pulled_at"
                     " from raw.facebook_insights order by 1, 2")
    fake_api.restate_on_pull(2, factor="3")
    fake_api.expire_token(after_requests=7)  # mid-way through the insights pages
    requests_before = len(fake_api.requests)
    with pytest.raises(AccessTokenError, match="expired or invalid.*META_ACCESS_TOKEN"):
        sync_ad_account(warehouse_dsn, client, "1001", JAN_1, JAN_28)
    assert len(fake_api.requests) == requests_before + 8  # no retry after the 190
    assert sleeps == []
    assert query(warehouse_dsn, "select ad_id, date_start, spend, pulled_at"
                 " from raw.facebook_insights order by 1, 2") == snapshot


def test_expired_token_on_an_empty_warehouse_writes_no_row(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
) -> None:
    fake_api.expire_token()
    with pytest.raises(AccessTokenError):
        sync_ad_account(warehouse_dsn, client, "2002", JAN_1, JAN_28)
    assert query(warehouse_dsn, "select (select count(*) from raw.facebook_insights)"
                 " + (select count(*) from raw.facebook_ads)"
                 " + (select count(*) from raw.facebook_ad_accounts)") == [(0,)]


def test_throttled_then_recovered_run_loads_the_right_rows(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi, sleeps: list[float],
    accounts: dict[str, dict[str, Any]],
) -> None:
    fake_api.throttle(3, regain_minutes=2)
    sync_ad_account(warehouse_dsn, client, "2002", JAN_1, JAN_28, include_placements=False)
    assert stored(warehouse_dsn, "2002") == totals(accounts["2002"]["insights"],
                                                   "2024-01-01", "2024-01-28")
    assert sleeps == [120.0, 120.0, 120.0]


def test_a_server_error_mid_paging_loads_everything_once(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
    accounts: dict[str, dict[str, Any]],
) -> None:
    fake_api.fail_request(7)  # account, 3 edges, then the insights' 3rd page
    sync_ad_account(warehouse_dsn, client, "1001", JAN_1, JAN_28, include_placements=False)
    assert [r.status for r in fake_api.requests].count(500) == 1
    assert stored(warehouse_dsn, "1001") == totals(accounts["1001"]["insights"],
                                                   "2024-01-01", "2024-01-28")


def test_ninety_days_run_as_async_jobs_and_match_to_the_cent(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
    accounts: dict[str, dict[str, Any]],
) -> None:
    fake_api.fail_async_jobs(1)
    summary = sync_ad_account(warehouse_dsn, client, "1001", JAN_1, MAR_30)
    fixture = accounts["1001"]
    assert stored(warehouse_dsn, "1001") == totals(fixture["insights"], "2024-01-01",
                                                   "2024-03-30") == (309, summary.spend)
    assert stored(warehouse_dsn, "1001", "facebook_insights_placement") == \
        totals(fixture["insights_placement"], "2024-01-01", "2024-03-30")
    jobs = [(j.since, j.until, j.outcome) for j in fake_api.jobs.values()]
    assert jobs == [("2024-01-01", "2024-03-30", "fail"),
                    ("2024-01-01", "2024-02-14", "complete"),
                    ("2024-02-15", "2024-03-30", "complete"),
                    ("2024-01-01", "2024-03-30", "complete")]  # then the placements' run
    assert summary.days_replaced == 90


def test_sync_projects_covers_every_account_and_the_restatement_window(
    warehouse_dsn: str, client: GraphApiClient, fake_api: FakeGraphApi,
    accounts: dict[str, dict[str, Any]],
) -> None:
    projects = [Project("shop", "Shop", ("k1",), facebook_ad_account_ids=("1001",)),
                Project("blog", "Blog", ("k2",), facebook_ad_account_ids=("2002",)),
                Project("app", "App", ("k3",))]
    messages: list[str] = []
    day = date(2024, 2, 10)  # one daily run: re-pulls 2024-01-14..2024-02-10
    summaries = sync_projects(warehouse_dsn, client, projects, day, day, progress=messages.append)
    assert [(s.ad_account_id, s.since, s.until, s.days_replaced) for s in summaries] == [
        ("1001", date(2024, 1, 14), day, 28), ("2002", date(2024, 1, 14), day, 28)]
    for account in ("1001", "2002"):
        assert stored(warehouse_dsn, account) == totals(
            accounts[account]["insights"], "2024-01-14", "2024-02-10")
    assert messages[0] == "shop: pulling act_1001 2024-01-14..2024-02-10"
    assert messages[1].startswith("shop: act_1001 2024-01-14..2024-02-10: 96 rows, 288")

    # a partition-style call: exactly one day, no widening
    (one,) = sync_projects(warehouse_dsn, client, projects[:1], day, day, restatement_days=1,
                           include_placements=False)
    assert (one.since, one.until, one.rows) == (day, day, 3)
    asked = len(fake_api.requests)
    lean = sync_ad_account(warehouse_dsn, client, "1001", day, day, include_placements=False,
                           include_dimensions=False)
    assert [r.path.rsplit("/", 1)[-1] for r in fake_api.requests[asked:]] == \
        ["act_1001", "insights"]
    assert (lean.rows, lean.ads) == (3, 0)
    with pytest.raises(BeaconError, match="restatement_days must be at least 1"):
        sync_projects(warehouse_dsn, client, projects, day, day, restatement_days=0)


def test_a_row_sent_twice_is_a_clear_error_and_writes_nothing(
    warehouse_dsn: str, tmp_path: Path, sleeps: list[float],
) -> None:
    fixture = build_account("3003", start=JAN_1, days=3)
    twice = fixture["insights"][1]
    fixture["insights"].append(dict(twice))
    with FakeGraphApi(write_fixtures(tmp_path, fixture), access_token=TOKEN) as fake:
        client = GraphApiClient(fake.url, "v21.0", TOKEN, sleep=sleeps.append)
        key = f"(3003, {twice['ad_id']}, {twice['date_start']})"
        with pytest.raises(BeaconError) as caught:
            sync_ad_account(warehouse_dsn, client, "3003", JAN_1, date(2024, 1, 3))
    assert str(caught.value) == ("the same insights row arrived twice:"
                                 f" (ad_account_id, ad_id, date_start)={key}")
    assert stored(warehouse_dsn, "3003") == (0, 0)


def test_a_malformed_number_names_the_row(warehouse_dsn: str, tmp_path: Path) -> None:
    fixture = build_account("3003", start=JAN_1, days=2)
    fixture["insights"][2]["spend"] = "12.345"
    with FakeGraphApi(write_fixtures(tmp_path, fixture), access_token=TOKEN) as fake:
        client = GraphApiClient(fake.url, "v21.0", TOKEN, sleep=lambda s: None)
        with pytest.raises(BeaconError, match=r"act_3003 insights row 3: spend '12.345' has"
                           r" more than 2 decimals"):
            sync_ad_account(warehouse_dsn, client, "3003", JAN_1, date(2024, 1, 2))
    assert stored(warehouse_dsn, "3003") == (0, 0)


def test_whole_fixture_files_load_to_the_cent(
    warehouse_dsn: str, client: GraphApiClient, fixtures_dir: Path,
) -> None:
    """Everything the fixture files hold, read back from disk, equals the raw tables."""
    files = load_fixtures(fixtures_dir)
    projects = [Project("p", "P", ("k",), facebook_ad_account_ids=tuple(files))]
    summaries = sync_projects(warehouse_dsn, client, projects, date(2024, 1, 1),
                              date(2024, 4, 9))  # 100 days: async report runs
    for summary in summaries:
        fixture = files[summary.ad_account_id]
        assert stored(warehouse_dsn, summary.ad_account_id) == totals(fixture["insights"]) == \
            (summary.rows, summary.spend)
        assert stored(warehouse_dsn, summary.ad_account_id, "facebook_insights_placement") == \
            totals(fixture["insights_placement"])
    assert [(s.ad_account_id, s.rows, s.spend) for s in summaries] == [
        ("1001", 343, Decimal("10322.62")), ("2002", 257, Decimal("7686.15"))]
