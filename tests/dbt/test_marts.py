"""Every mart of the hand-written dataset (tests/dbt/dataset.py), number by number.

The expected values are computed by hand from the dataset's docstring; Berlin is UTC+1.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

from tests.dbt.conftest import BuiltWarehouse
from tests.dbt.dataset import at


def session_id(anonymous_id: str, started_at: datetime) -> str:
    epoch_ms = int(started_at.timestamp() * 1000)
    return hashlib.md5(f"shop|{anonymous_id}|{epoch_ms}".encode()).hexdigest()


A1, A2 = at(6, 9), at(6, 10, 20, 0, 1)
B1, B2, B3 = at(6, 23, 30), at(8, 12), at(9, 12, 7)
C1, C2 = at(10, 8), at(17, 8)
D1, E1, X1 = at(6, 7, 0, 5), at(7, 18), at(6, 10)
N1 = at(12, 22, 40)


def test_sessions_split_at_30_minutes_and_carry_landing_utm_and_conversions(
    warehouse: BuiltWarehouse,
) -> None:
    rows = warehouse.rows(
        "select session_id, anonymous_id, user_id, started_at, ended_at, started_date,"
        " duration_seconds, events, pageviews, is_bounce, is_bot, landing_path, exit_path,"
        " utm_source, utm_ad_id, channel_group, device_type, os_name, browser_name,"
        " conversions, revenue from marts.fct_sessions order by started_at"
    )
    expected = [
        # dave: one session only because the skewed page view is corrected to 07:00:05
        (D1, "anon-dave", "user-dave", D1, at(6, 7, 20), date(2025, 1, 6), 1195, 2, 2, False,
         False, "/blog", "/pricing", None, None, "Direct", "mobile", "iOS", "Safari", 0, 0),
        # alice: a gap of exactly 30 min (09:20 -> 09:50) stays in A1
        (A1, "anon-alice", "user-alice", A1, at(6, 9, 50), date(2025, 1, 6), 3000, 5, 1, False,
         False, "/home", "/home", "facebook", "ad-1", "Paid Social", "desktop", "Windows",
         "Chrome", 0, 0),
        (X1, "anon-bot", None, X1, at(6, 10, 1), date(2025, 1, 6), 60, 3, 1, False, True,
         "/home", "/home", "facebook", "ad-1", "Paid Social", "desktop", "Windows", "Chrome",
         1, 99),
        # 30 min + 1 ms after form_start: a new session, landing on the first path
        (A2, "anon-alice", "user-alice", A2, A2, date(2025, 1, 6), 0, 1, 0, False, False,
         "/checkout", None, None, None, "Direct", "desktop", "Windows", "Chrome", 1, 50),
        # 23:30 UTC is 00:30 in Berlin: the 7th
        (B1, "anon-bob", None, B1, at(6, 23, 31), date(2025, 1, 7), 60, 2, 1, True, False,
         "/pricing", "/pricing", None, None, "Organic Search", "desktop", "Linux", "Firefox",
         0, 0),
        (E1, "anon-alice-phone", "user-alice", E1, at(7, 18, 2), date(2025, 1, 7), 120, 3, 1,
         False, False, "/home", "/home", None, None, "Direct", "mobile", "iOS", "Safari", 0, 0),
        (B2, "anon-bob", None, B2, at(8, 12, 6), date(2025, 1, 8), 360, 3, 2, False, False,
         "/home", "/pricing", "facebook", "ad-1", "Paid Social", "desktop", "Linux", "Firefox",
         1, 0),
        (B3, "anon-bob", None, B3, B3, date(2025, 1, 9), 0, 1, 0, False, False, None, None, None,
         None, "Direct", "desktop", "Linux", "Firefox", 0, 0),
        (C1, "anon-carol", None, C1, C1, date(2025, 1, 10), 0, 1, 1, True, False, "/home", "/home",
         "facebook", "ad-2", "Paid Social", "desktop", "Windows", "Chrome", 0, 0),
        # erin: 23:40 Berlin on the 12th to 00:35 on the 13th, one session of the 12th
        (N1, "anon-erin", None, N1, at(12, 23, 35), date(2025, 1, 12), 3300, 3, 3, False, False,
         "/blog", "/about", None, None, "Direct", "desktop", "Windows", "Chrome", 0, 0),
        (C2, "anon-carol", None, C2, at(17, 8, 0, 0, 1), date(2025, 1, 17), 0, 2, 0, False,
         False, "/checkout", None, None, None, "Direct", "desktop", "Windows", "Chrome", 2, 50),
    ]
    assert rows == [
        (session_id(anonymous_id, first), anonymous_id, *rest)
        for first, anonymous_id, *rest in expected
    ]


def test_events_are_sessionized_stitched_and_flagged(warehouse: BuiltWarehouse) -> None:
    rows = warehouse.rows(
        "select anonymous_id, count(*), count(distinct session_id), min(user_id),"
        " count(distinct coalesce(user_id, '-')), bool_and(is_bot), bool_or(is_bot)"
        " from marts.fct_events group by anonymous_id order by anonymous_id"
    )
    assert rows == [
        ("anon-alice", 6, 2, "user-alice", 1, False, False),  # guest-1 overridden by identify
        ("anon-alice-phone", 3, 1, "user-alice", 1, False, False),
        ("anon-bob", 6, 3, None, 1, False, False),
        ("anon-bot", 3, 1, None, 1, True, True),  # bot agent on one event flags all three
        ("anon-carol", 3, 2, None, 1, False, False),
        ("anon-dave", 2, 1, "user-dave", 1, False, False),  # stitched back onto d1
        ("anon-erin", 3, 1, None, 1, False, False),
    ]
    skewed = warehouse.rows(
        "select event_at, client_event_at, is_session_start, event_user_id"
        " from marts.fct_events where message_id = 'd1'"
    )
    assert skewed == [(D1, at(6, 8), True, None)]
    identifies = warehouse.rows(
        "select message_id from marts.fct_events where event_name = 'identify'"
    )
    assert identifies == []


def test_visitors_and_users(warehouse: BuiltWarehouse) -> None:
    visitors = warehouse.rows(
        "select anonymous_id, user_id, first_seen_at, last_seen_at, sessions_count, events,"
        " pageviews, conversions, revenue, first_utm ->> 'utm_ad_id', last_utm ->> 'utm_ad_id',"
        " first_channel_group, device_type, is_bot from marts.dim_visitors order by anonymous_id"
    )
    assert visitors == [
        ("anon-alice", "user-alice", A1, A2, 2, 6, 1, 1, 50, "ad-1", "ad-1", "Paid Social",
         "desktop", False),
        ("anon-alice-phone", "user-alice", E1, at(7, 18, 2), 1, 3, 1, 0, 0, None, None, "Direct",
         "mobile", False),
        ("anon-bob", None, B1, B3, 3, 6, 3, 1, 0, "ad-1", "ad-1", "Organic Search", "desktop",
         False),
        ("anon-bot", None, X1, at(6, 10, 1), 1, 3, 1, 1, 99, "ad-1", "ad-1", "Paid Social",
         "desktop", True),
        ("anon-carol", None, C1, at(17, 8, 0, 0, 1), 2, 3, 1, 2, 50, "ad-2", "ad-2",
         "Paid Social", "desktop", False),
        ("anon-dave", "user-dave", D1, at(6, 7, 20), 1, 2, 2, 0, 0, None, None, "Direct",
         "mobile", False),
        ("anon-erin", None, N1, at(12, 23, 35), 1, 3, 3, 0, 0, None, None, "Direct", "desktop",
         False),
    ]
    users = warehouse.rows(
        "select user_id, anonymous_ids, bot_anonymous_ids, first_seen_at, last_seen_at,"
        " sessions_count, events, conversions, revenue from marts.dim_users order by user_id"
    )
    assert users == [
        ("user-alice", 2, 0, A1, at(7, 18, 2), 3, 9, 1, 50),
        ("user-dave", 1, 0, D1, at(6, 7, 20), 1, 2, 0, 0),
    ]


def top(*pairs: tuple[str, int]) -> list[dict]:
    return [{"value": value, "count": count} for value, count in pairs]


def test_daily_rollups_exclude_bots_and_rank_top_lists(warehouse: BuiltWarehouse) -> None:
    rows = warehouse.rows(
        "select day, visitors, sessions, bounces, pageviews, form_starts, form_submits,"
        " avg_session_duration_secs, exits, metrics, top_paths, top_ctas, top_sources,"
        " conversions, revenue from marts.fct_daily_rollups where project_id = 'shop'"
        " order by day"
    )
    metrics = [
        {"users": 2, "clicks": 1, "converting_sessions": 1, "bot_sessions": 1},
        {"users": 1, "clicks": 0, "converting_sessions": 0, "bot_sessions": 0},
        {"users": 0, "clicks": 0, "converting_sessions": 1, "bot_sessions": 0},
        {"users": 0, "clicks": 0, "converting_sessions": 0, "bot_sessions": 0},
        {"users": 0, "clicks": 0, "converting_sessions": 0, "bot_sessions": 0},
        {"users": 0, "clicks": 0, "converting_sessions": 0, "bot_sessions": 0},
        {"users": 0, "clicks": 0, "converting_sessions": 1, "bot_sessions": 0},
    ]
    assert rows == [
        # dave (1195 s), alice A1 (3000 s) and A2 (0 s); the bot's session and purchase left out
        (date(2025, 1, 6), 2, 3, 0, 3, 1, 0, Decimal("1398.33"), 2, metrics[0],
         top(("/blog", 1), ("/home", 1), ("/pricing", 1)), top(("Buy now", 1)),
         top(("(direct)", 2), ("facebook", 1)), 1, 50),
        (date(2025, 1, 7), 2, 2, 1, 2, 0, 0, Decimal("90.00"), 2, metrics[1],
         top(("/home", 1), ("/pricing", 1)), [], top(("(direct)", 1), ("google.com", 1)), 0, 0),
        (date(2025, 1, 8), 1, 1, 0, 2, 0, 0, Decimal("360.00"), 1, metrics[2],
         top(("/home", 1), ("/pricing", 1)), [], top(("facebook", 1)), 1, 0),
        (date(2025, 1, 9), 1, 1, 0, 0, 0, 0, Decimal("0.00"), 0, metrics[3], [], [],
         top(("(direct)", 1)), 0, 0),
        (date(2025, 1, 10), 1, 1, 1, 1, 0, 0, Decimal("0.00"), 1, metrics[4], top(("/home", 1)),
         [], top(("facebook", 1)), 0, 0),
        # erin's one session; nothing on the 13th
        (date(2025, 1, 12), 1, 1, 0, 3, 0, 0, Decimal("3300.00"), 1, metrics[5],
         top(("/about", 1), ("/blog", 1), ("/blog/post", 1)), [], top(("(direct)", 1)), 0, 0),
        (date(2025, 1, 17), 1, 1, 0, 0, 0, 0, Decimal("0.00"), 0, metrics[6], [], [],
         top(("(direct)", 1)), 2, 50),
    ]


def test_funnels_convert_and_time_out(warehouse: BuiltWarehouse) -> None:
    rows = warehouse.rows(
        "select funnel_name, entry_date, step_number, step_event, visitors,"
        " conversion_from_start, conversion_from_previous, median_seconds_from_entry"
        " from marts.fct_funnel_daily order by funnel_name, entry_date, step_number"
    )
    assert rows == [
        # alice converts: add_to_cart 10 min and the purchase 70 min + 1 ms after entry
        ("checkout", date(2025, 1, 6), 1, "view_product", 1, 1, 1, 0),
        ("checkout", date(2025, 1, 6), 2, "add_to_cart", 1, 1, 1, 600),
        ("checkout", date(2025, 1, 6), 3, "purchase", 1, 1, 1, Decimal("4200.001")),
        # alice's phone added to cart before viewing the product: no step 2 (the bot's entry
        # on the 6th is not counted)
        ("checkout", date(2025, 1, 7), 1, "view_product", 1, 1, 1, 0),
        ("checkout", date(2025, 1, 7), 2, "add_to_cart", 0, 0, 0, None),
        ("checkout", date(2025, 1, 7), 3, "purchase", 0, 0, None, None),
        # bob's first project came 1 day 1 min after the signup: outside the 1-day window
        ("onboarding", date(2025, 1, 8), 1, "signup", 1, 1, 1, 0),
        ("onboarding", date(2025, 1, 8), 2, "first_project", 0, 0, 0, None),
    ]


def test_ad_performance_attributes_within_seven_days(warehouse: BuiltWarehouse) -> None:
    rows = warehouse.rows(
        "select ad_id, adset_id, campaign_id, day, currency, spend, impressions, clicks, reach,"
        " ctr, cpc, cpm, sessions, bounces, conversions, revenue, cpa, roas, facebook_conversions"
        " from marts.fct_ad_performance_daily order by ad_id, day"
    )
    assert rows == [
        # spend 20 (the 15 of the placement breakdown not added); alice's A1 session and her
        # purchase (50) attributed; the bot's session and purchase not
        ("ad-1", "adset-1", "camp-1", date(2025, 1, 6), "EUR", 20, 1000, 10, 800,
         Decimal("0.01"), 2, 20, 1, 0, 1, 50, 20, Decimal("2.5"), 2),
        # bob's ad session and his signup (revenue 0); no clicks, so no cpc
        ("ad-1", "adset-1", "camp-1", date(2025, 1, 8), "EUR", 10, 500, 0, 400, 0, None, 20,
         1, 0, 1, 0, 10, 0, 0),
        # zero spend and impressions: every ratio null
        ("ad-2", "adset-1", "camp-1", date(2025, 1, 10), "EUR", 0, 0, 0, 0, None, None, None,
         1, 1, 0, 0, None, None, 0),
        # carol's purchase exactly 7 days after C1 (30); the one 1 ms later is unattributed
        ("ad-2", "adset-1", "camp-1", date(2025, 1, 17), "EUR", 0, 0, 0, None, None, None, None,
         0, 0, 1, 30, 0, None, 0),
    ]
    adsets = warehouse.rows(
        "select adset_id, campaign_id, day, spend, impressions, clicks, ctr, cpc, cpm, sessions,"
        " conversions, revenue, cpa, roas from marts.fct_adset_performance_daily order by day"
    )
    campaigns = warehouse.rows(
        "select campaign_id, day, spend, impressions, clicks, ctr, cpc, cpm, sessions,"
        " conversions, revenue, cpa, roas from marts.fct_campaign_performance_daily order by day"
    )
    by_day = [
        (date(2025, 1, 6), 20, 1000, 10, Decimal("0.01"), 2, 20, 1, 1, 50, 20, Decimal("2.5")),
        (date(2025, 1, 8), 10, 500, 0, 0, None, 20, 1, 1, 0, 10, 0),
        (date(2025, 1, 10), 0, 0, 0, None, None, None, 1, 0, 0, None, None),
        (date(2025, 1, 17), 0, 0, 0, None, None, None, 0, 1, 30, 0, None),
    ]
    assert adsets == [("adset-1", "camp-1", *row) for row in by_day]
    assert campaigns == [("camp-1", *row) for row in by_day]
    columns = {name for (name,) in warehouse.rows(
        "select column_name from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'fct_campaign_performance_daily'"
    )}
    assert "reach" not in columns


def test_dim_ads(warehouse: BuiltWarehouse) -> None:
    rows = warehouse.rows(
        "select project_id, ad_id, ad_name, adset_id, adset_name, campaign_id, campaign_name,"
        " placements, first_report_date, last_report_date from marts.dim_ads order by ad_id"
    )
    assert rows == [
        ("shop", "ad-1", "Red boots", "adset-1", "Retargeting", "camp-1", "Winter sale",
         "facebook:feed", date(2025, 1, 6), date(2025, 1, 8)),
        ("shop", "ad-2", "Blue boots", "adset-1", "Retargeting", "camp-1", "Winter sale", None,
         date(2025, 1, 10), date(2025, 1, 10)),
        ("shop", "ad-3", "Green boots", "adset-2", "Lookalike", "camp-1", "Winter sale", None,
         None, None),
    ]
