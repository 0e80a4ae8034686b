"""A hand-written warehouse small enough to compute every mart by hand.

Project `shop` runs in Europe/Berlin (UTC+1 in January), so local days differ from UTC days.
Rows go straight into the raw layer, as the loaders would leave them: events already mapped,
skew-corrected (`event_at`) and deduplicated on (project_id, message_id).

Visitors (times UTC, 2025-01):
- anon-alice: session A1 06 09:00-09:50 from ad-1 (page view, view_product with user id guest-1,
  click "Buy now", add_to_cart, form_start exactly 30 min later); session A2 starts 30 min + 1 ms
  later with a purchase of 50; an identify at 10:25 stitches her to user-alice.
- anon-bob: B1 06 23:30 (= 07 00:30 Berlin) from Google, page view + scroll (a bounce); B2 08
  12:00 from ad-1: two page views and a signup; B3 09 12:07 first_project, 1 day 1 min after the
  signup (the onboarding funnel times out).
- anon-carol: C1 10 08:00 from ad-2, one page view; C2 17 08:00 a purchase of 30 exactly 7 days
  after C1 (attributed) and one of 20 1 ms later (unattributed).
- anon-dave: an iPhone whose clock runs 1 h fast: its first page view is sent with client time
  08:00:00 but happened at 07:00:05 (received 07:00:10, sent 5 s after the client time); then a
  page view at 07:20 carrying user-dave. One session of 1195 s only because of the correction.
- anon-alice-phone: E1 07 18:00 page view as user-alice, add_to_cart, then view_product (the
  checkout funnel's entry, whose add_to_cart came before it and so does not count).
- anon-bot: Googlebot, 06 10:00 from ad-1, view_product and a purchase of 99: flagged, excluded.
- anon-erin: page views 12 22:40 (23:40 Berlin) and 23:35 (00:35 on the 13th in Berlin), 55 min
  apart: two sessions on two local days, until a page view at 23:05 arrives in the second load
  and bridges them (gaps of 25 and exactly 30 min): one session on the 12th, none on the 13th
  (the incremental build must delete the 13th's rollup row).

Facebook: account 111 (project shop) with ads ad-1, ad-2 (adset-1) and ad-3 (adset-2, no
insights), all in camp-1; a placement row that must not be added to the ad-level spend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg

from ingestion.events.chunk import event_key
from ingestion.projects import Funnel, Project, write_projects
from ingestion.warehouse import ensure_raw_schema

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

FIRST_LOAD_AT = datetime(2025, 1, 20, tzinfo=UTC)
SECOND_LOAD_AT = datetime(2025, 1, 21, tzinfo=UTC)

SHOP = Project(
    project_id="shop",
    name="Shop",
    keys=("shop-write-key",),
    timezone="Europe/Berlin",
    currency="EUR",
    facebook_ad_account_ids=("111",),
    conversion_events=("purchase", "signup"),
    funnels=(
        Funnel("checkout", ("view_product", "add_to_cart", "purchase"), 7),
        Funnel("onboarding", ("signup", "first_project"), 1),
    ),
)


def at(day: int, hour: int, minute: int = 0, second: int = 0, ms: int = 0) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, ms * 1000, tzinfo=UTC)


@dataclass
class Event:
    message_id: str
    anonymous_id: str
    event_name: str
    event_at: datetime
    user_agent: str | None = None
    page_path: str | None = None
    utm: dict[str, str] = field(default_factory=dict)
    referrer: str | None = None
    user_id: str | None = None
    revenue: float | None = None
    cta_label: str | None = None
    scroll_pct: float | None = None
    client_event_at: datetime | None = None
    sent_at: datetime | None = None
    received_at: datetime | None = None
    second_load: bool = False  # loaded by the second of two loads in the incremental test

    def row(self, load_id: int, line_number: int) -> dict[str, Any]:
        is_page_view = self.event_name == "page_view"
        query = "&".join(f"{key}={value}" for key, value in self.utm.items())
        page_url = None
        if self.page_path is not None:
            page_url = f"https://shop.example{self.page_path}" + (f"?{query}" if query else "")
        return {
            "project_id": "shop",
            "message_id": self.message_id,
            "source_shape": "segment",
            "event_type": "page" if is_page_view else "identify" if self.is_identify else "track",
            "event_name": self.event_name,
            "is_page_view": is_page_view,
            "is_identify": self.is_identify,
            "is_scroll": self.event_name == "scroll",
            "is_click": self.event_name == "click",
            "cta_label": self.cta_label,
            "anonymous_id": self.anonymous_id,
            "user_id": self.user_id,
            "event_at": self.event_at,
            "client_event_at": self.client_event_at or self.event_at,
            "sent_at": self.sent_at,
            "received_at": self.received_at,
            "page_url": page_url,
            "page_path": self.page_path,
            "page_referrer": self.referrer,
            "user_agent": self.user_agent,
            "scroll_pct": self.scroll_pct,
            "revenue": self.revenue,
            "properties": json.dumps({"revenue": self.revenue} if self.revenue is not None else {}),
            "event_key": UUID(bytes=event_key("shop", self.message_id)),
            "load_id": load_id,
            "line_number": line_number,
            "loaded_at": SECOND_LOAD_AT if self.second_load else FIRST_LOAD_AT,
            **{f"utm_{key}": value for key, value in self.utm.items()},
        }

    @property
    def is_identify(self) -> bool:
        return self.event_name == "identify"


AD_1 = {"source": "facebook", "medium": "paid", "campaign_id": "camp-1", "adset_id": "adset-1",
        "ad_id": "ad-1"}
AD_2 = {**AD_1, "ad_id": "ad-2"}

EVENTS: list[Event] = [
    # anon-alice
    Event("a1", "anon-alice", "page_view", at(6, 9), CHROME_WINDOWS, "/home", AD_1),
    Event("a2", "anon-alice", "view_product", at(6, 9, 10), CHROME_WINDOWS, "/p/1",
          user_id="guest-1"),
    Event("a3", "anon-alice", "click", at(6, 9, 15), CHROME_WINDOWS, "/p/1", cta_label="Buy now"),
    Event("a4", "anon-alice", "add_to_cart", at(6, 9, 20), CHROME_WINDOWS, "/p/1"),
    Event("a5", "anon-alice", "form_start", at(6, 9, 50), CHROME_WINDOWS, "/checkout"),
    Event("a6", "anon-alice", "purchase", at(6, 10, 20, 0, 1), CHROME_WINDOWS, "/checkout",
          revenue=50, second_load=True),
    Event("a7", "anon-alice", "identify", at(6, 10, 25), CHROME_WINDOWS, user_id="user-alice",
          second_load=True),
    # anon-bob
    Event("b1", "anon-bob", "page_view", at(6, 23, 30), FIREFOX_LINUX, "/pricing",
          referrer="https://www.google.com/search?q=shop"),
    Event("b2", "anon-bob", "scroll", at(6, 23, 31), FIREFOX_LINUX, "/pricing", scroll_pct=80),
    Event("b3", "anon-bob", "page_view", at(8, 12), FIREFOX_LINUX, "/home", AD_1, second_load=True),
    Event("b4", "anon-bob", "page_view", at(8, 12, 5), FIREFOX_LINUX, "/pricing",
          second_load=True),
    Event("b5", "anon-bob", "signup", at(8, 12, 6), FIREFOX_LINUX, "/signup", second_load=True),
    Event("b6", "anon-bob", "first_project", at(9, 12, 7), FIREFOX_LINUX, second_load=True),
    # anon-carol
    Event("c1", "anon-carol", "page_view", at(10, 8), CHROME_WINDOWS, "/home", AD_2,
          second_load=True),
    Event("c2", "anon-carol", "purchase", at(17, 8), CHROME_WINDOWS, "/checkout", revenue=30,
          second_load=True),
    Event("c3", "anon-carol", "purchase", at(17, 8, 0, 0, 1), CHROME_WINDOWS, "/checkout",
          revenue=20, second_load=True),
    # anon-dave: the clock-skewed page view arrives late, in the second load, and merges sessions
    Event("d1", "anon-dave", "page_view", at(6, 7, 0, 5), SAFARI_IPHONE, "/blog",
          client_event_at=at(6, 8), sent_at=at(6, 8, 0, 5), received_at=at(6, 7, 0, 10),
          second_load=True),
    Event("d2", "anon-dave", "page_view", at(6, 7, 20), SAFARI_IPHONE, "/pricing",
          user_id="user-dave"),
    # anon-alice-phone
    Event("e1", "anon-alice-phone", "page_view", at(7, 18), SAFARI_IPHONE, "/home",
          user_id="user-alice"),
    Event("e2", "anon-alice-phone", "add_to_cart", at(7, 18, 1), SAFARI_IPHONE, "/p/2"),
    Event("e3", "anon-alice-phone", "view_product", at(7, 18, 2), SAFARI_IPHONE, "/p/2"),
    # anon-bot: its bot user agent shows only on the late purchase, flagging it retroactively
    Event("x1", "anon-bot", "page_view", at(6, 10), CHROME_WINDOWS, "/home", AD_1),
    Event("x2", "anon-bot", "view_product", at(6, 10, 0, 30), CHROME_WINDOWS, "/p/1"),
    Event("x3", "anon-bot", "purchase", at(6, 10, 1), GOOGLEBOT, "/checkout", revenue=99,
          second_load=True),
    # anon-erin: the late page view merges the sessions of the 12th and 13th (Berlin)
    Event("n1", "anon-erin", "page_view", at(12, 22, 40), CHROME_WINDOWS, "/blog"),
    Event("n2", "anon-erin", "page_view", at(12, 23, 5), CHROME_WINDOWS, "/blog/post",
          second_load=True),
    Event("n3", "anon-erin", "page_view", at(12, 23, 35), CHROME_WINDOWS, "/about"),
]

EVENT_COLUMNS = list(EVENTS[0].row(0, 0).keys() | {f"utm_{k}" for k in AD_1})


def load_registry(conn: psycopg.Connection) -> None:
    """The raw layer, the projects registry and the Facebook tables (which do not change)."""
    ensure_raw_schema(conn)
    write_projects(conn, [SHOP])
    with conn.transaction():
        conn.execute(
            "insert into raw.facebook_ad_accounts (ad_account_id, name, currency, timezone_name)"
            " values ('111', 'Shop ads', 'EUR', 'Europe/Berlin')"
        )
        conn.execute(
            "insert into raw.facebook_campaigns (campaign_id, ad_account_id, name, status,"
            " objective) values ('camp-1', '111', 'Winter sale', 'ACTIVE', 'OUTCOME_SALES')"
        )
        conn.execute(
            "insert into raw.facebook_adsets (adset_id, ad_account_id, campaign_id, name, status)"
            " values ('adset-1', '111', 'camp-1', 'Retargeting', 'ACTIVE'),"
            " ('adset-2', '111', 'camp-1', 'Lookalike', 'PAUSED')"
        )
        conn.execute(
            "insert into raw.facebook_ads (ad_id, ad_account_id, campaign_id, adset_id, name,"
            " status) values ('ad-1', '111', 'camp-1', 'adset-1', 'Red boots', 'ACTIVE'),"
            " ('ad-2', '111', 'camp-1', 'adset-1', 'Blue boots', 'ACTIVE'),"
            " ('ad-3', '111', 'camp-1', 'adset-2', 'Green boots', 'PAUSED')"
        )
        insights = [
            ("ad-1", "2025-01-06", "20.00", 1000, 10, 800,
             [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"},
              {"action_type": "link_click", "value": "10"}]),
            ("ad-1", "2025-01-08", "10.00", 500, 0, 400, []),
            ("ad-2", "2025-01-10", "0.00", 0, 0, 0, None),
        ]
        with conn.cursor() as cur:
            cur.executemany(
                "insert into raw.facebook_insights (ad_account_id, date_start, date_stop,"
                " campaign_id, campaign_name, adset_id, adset_name, ad_id, ad_name, spend,"
                " impressions, clicks, reach, actions, account_currency, attribution_windows,"
                " source) values ('111', %s, %s, 'camp-1', 'Winter sale', 'adset-1',"
                " 'Retargeting', %s, null, %s, %s, %s, %s, %s, 'EUR', '7d_click,1d_view', 'api')",
                [(day, day, ad, spend, imps, clicks, reach,
                  None if actions is None else json.dumps(actions))
                 for ad, day, spend, imps, clicks, reach, actions in insights],
            )
        conn.execute(
            "insert into raw.facebook_insights_placement (ad_account_id, date_start, date_stop,"
            " campaign_id, adset_id, ad_id, publisher_platform, platform_position, spend,"
            " impressions, clicks, reach, account_currency, attribution_windows, source)"
            " values ('111', '2025-01-06', '2025-01-06', 'camp-1', 'adset-1', 'ad-1',"
            " 'facebook', 'feed', 15.00, 700, 8, 600, 'EUR', '7d_click,1d_view', 'api')"
        )


def load_events(conn: psycopg.Connection, *, second_load: bool | None = None) -> int:
    """Insert the events (all, or only those of the first or second load); returns the count."""
    # Load ids and line numbers follow the event, not the split, so that one load and two loads
    # leave identical lineage columns.
    rows = [
        event.row(2 if event.second_load else 1, number)
        for number, event in enumerate(EVENTS, 1)
        if second_load is None or event.second_load == second_load
    ]
    columns = sorted(EVENT_COLUMNS)
    copy_sql = f"copy raw.events ({', '.join(columns)}) from stdin"
    with conn.transaction(), conn.cursor() as cur, cur.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([row.get(column) for column in columns])
    conn.execute("select pg_stat_force_next_flush()")  # as the loader does: see its load()
    return len(rows)
